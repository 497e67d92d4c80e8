import type { PhysicalLine } from './lines';

/**
 * CSV (RFC 4180 quoting) and TSV (no quoting) records from physical lines. A record is one line, or several when
 * a quoted field holds line breaks. A malformed record never takes good ones with it: it ends at the end of the
 * physical line where the problem is, and the next line starts a new record. A quote that is never closed is
 * given up after a few lines (or at the end of the file): its first line is the malformed record and the lines
 * after it are read again as records of their own. Every record carries the number of its first line, so two
 * records never share a line number.
 */
export type DelimitedRecord = { line: number; raw: string } & ({ fields: string[] } | { malformed: string });

export interface DelimitedLimits {
  /** A quoted field may span at most this many lines… */
  maxLines: number;
  /** …and this many characters. */
  maxChars: number;
}
const LIMITS: DelimitedLimits = { maxLines: 50, maxChars: 64 * 1024 };

type Parse = { fields: string[] } | { malformed: string } | { open: true };

/** One record's text (lines joined by "\n"): its fields, what is wrong with it, or an unclosed quote. */
export function parseDelimited(text: string, delimiter: string, quoting: boolean): Parse {
  const fields: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    if (quoting && text.charCodeAt(i) === 34) {
      let field = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return { open: true };
        field += text.slice(i, q);
        if (text.charCodeAt(q + 1) === 34) {
          field += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(field);
      if (i === n) return { fields };
      if (text[i] !== delimiter) {
        return { malformed: `unexpected text after the closing quote of field ${fields.length}` };
      }
      i++;
      continue;
    }
    const d = text.indexOf(delimiter, i);
    const end = d < 0 ? n : d;
    const field = text.slice(i, end);
    if (quoting && field.includes('"')) {
      return { malformed: `a quote inside unquoted field ${fields.length + 1} (quote the whole field)` };
    }
    fields.push(field);
    if (d < 0) return { fields };
    i = d + 1;
  }
}

export class DelimitedParser {
  private pending: PhysicalLine[] = [];

  constructor(
    private readonly delimiter: ',' | '\t',
    private readonly limits: DelimitedLimits = LIMITS,
  ) {}

  private get quoting(): boolean {
    return this.delimiter === ',';
  }

  feed(l: PhysicalLine, out: DelimitedRecord[]): void {
    if (l.length !== undefined) {
      // Too long to be a record. A quoted field open before it is not closed by it either.
      if (this.pending.length) this.giveUp(out, this.unclosed());
      out.push({ line: l.line, raw: l.text, malformed: `line is ${l.length} characters long` });
      return;
    }
    if (!this.pending.length && l.text.trim() === '') return; // blank lines are not records
    this.pending.push(l);
    const text = this.pending.length === 1 ? l.text : this.pending.map((p) => p.text).join('\n');
    const r = parseDelimited(text, this.delimiter, this.quoting);
    if ('open' in r) {
      if (this.pending.length >= this.limits.maxLines || text.length > this.limits.maxChars)
        this.giveUp(out, this.unclosed());
      return;
    }
    const line = (this.pending[0] as PhysicalLine).line;
    this.pending = [];
    out.push({ line, raw: text, ...r });
  }

  end(out: DelimitedRecord[]): void {
    while (this.pending.length) this.giveUp(out, 'a quoted field is not closed before the end of the file');
  }

  private unclosed(): string {
    return `a quoted field is not closed within ${this.limits.maxLines} lines or ${this.limits.maxChars} characters`;
  }

  /** The open record's first line is malformed; the lines after it are records of their own. */
  private giveUp(out: DelimitedRecord[], reason: string): void {
    const [first, ...rest] = this.pending as [PhysicalLine, ...PhysicalLine[]];
    this.pending = [];
    out.push({ line: first.line, raw: first.text, malformed: reason });
    for (const l of rest) this.feed(l, out);
  }
}
