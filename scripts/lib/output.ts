import { sheetCell } from '../../domain/sheet';

/**
 * What the CLI prints. Text from ingested files and specs reaches the operator's terminal: control characters
 * (escape sequences that move the cursor, retitle the window or hide text) are shown as U+FFFD, never sent.
 * CSV and TSV are written for spreadsheets: text that would run as a formula is escaped (domain/sheet.ts).
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function terminalSafe(text: string): string {
  return text.replace(CONTROL, '\uFFFD');
}

/** Tables fit a 120-column terminal unless `--wide` asks for every column in full. */
export const TABLE_WIDTH = 120;
let wide = false;
export function setWide(on: boolean): void {
  wide = on;
}
export function isWide(): boolean {
  return wide;
}

// Numbers, percentages, dates and instants are never cut: a cut number reads as another number.
const WHOLE = /^[-+]?[\d.,]+( ?%)?$|^\d{4}-\d{2}(-\d{2})?([T ][\d:.]+Z?)?$|^$/;
const MIN_TEXT = 12;

/**
 * Rows as an aligned text table. Too wide for TABLE_WIDTH, its text columns are shortened (cut with "…", the
 * rightmost first, never below 12 characters) and then, if need be, its last columns left out — and a last line
 * says so and how to see everything (`--wide`).
 */
export function table(
  rows: Record<string, unknown>[],
  columns?: string[],
  opts: { note?: boolean } = {},
): string {
  if (!rows.length) return '(none)';
  let cols = columns ?? Object.keys(rows[0] as object);
  let cells = rows.map((r) => cols.map((c) => terminalSafe(String(r[c] ?? '')).replace(/[\r\n\t]/g, ' ')));
  let widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  const notes: string[] = [];
  if (!wide && total() > TABLE_WIDTH) {
    const text = cols.map((_, i) => cells.some((r) => !WHOLE.test(r[i] as string)));
    const floor = cols.map((c) => Math.max(MIN_TEXT, c.length));
    // Rightmost text first: the columns on the left (which org, which product) are what a row is read by.
    for (let i = widths.length - 1; i >= 0 && total() > TABLE_WIDTH; i--) {
      if (!text[i]) continue;
      widths[i] = Math.max(floor[i] as number, (widths[i] as number) - (total() - TABLE_WIDTH));
    }
    const cut = widths.some((w, i) => cells.some((r) => (r[i] as string).length > w));
    if (cut) notes.push('long text cut (…)');
    let dropped = 0;
    while (total() > TABLE_WIDTH && widths.length > 1) {
      widths = widths.slice(0, -1);
      cols = cols.slice(0, -1);
      cells = cells.map((r) => r.slice(0, -1));
      dropped++;
    }
    if (dropped) notes.push(`${dropped} column(s) left out`);
  }
  const fit = (v: string, w: number) => (v.length > w ? `${v.slice(0, w - 1)}…` : v);
  const line = (vals: string[]) =>
    vals
      .map((v, i) => fit(v, widths[i] as number).padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const out = [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  if (notes.length && opts.note !== false)
    out.push(`(${notes.join('; ')} to fit ${TABLE_WIDTH} columns: --wide shows everything)`);
  return out.join('\n');
}

/** Rows as JSON lines (`--json`: JSON escapes control characters), or as a table of the view of each row. */
export function printRows<T>(
  rows: readonly T[],
  json: boolean | undefined,
  view: (r: T) => Record<string, unknown>,
): void {
  if (json) {
    for (const r of rows) console.log(JSON.stringify(r));
    return;
  }
  console.log(table(rows.map(view)));
}

const cellText = (v: unknown) => terminalSafe(v === null || v === undefined ? '' : sheetCell(String(v)));

/** RFC 4180: quote a field that holds a comma, quote or line break. */
export function csvLine(values: readonly unknown[]): string {
  return values
    .map((v) => {
      const s = cellText(v);
      return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',');
}

/** Rows as CSV on stdout: a header from the first row's keys, one line per row. */
export function printCsv(rows: readonly Record<string, unknown>[]): void {
  const cols = Object.keys(rows[0] ?? {});
  console.log(csvLine(cols));
  for (const r of rows) console.log(csvLine(cols.map((c) => r[c])));
}

/** A TSV line: tabs and line breaks inside a value would shift the columns, so they become spaces. */
export function tsvLine(values: readonly unknown[]): string {
  return values.map((v) => cellText(v).replace(/[\t\r\n]/g, ' ')).join('\t');
}

/**
 * Rows whose point is a sentence (alert notices): a line of short fields, then the sentence indented on a line
 * of its own, never cut. `--wide` prints them as a table instead.
 */
export function records(rows: Record<string, unknown>[], text: string): string {
  if (!rows.length) return '(none)';
  if (wide) return table(rows);
  const heads = table(
    rows.map(({ [text]: _, ...r }) => r),
    undefined,
    { note: false },
  )
    .split('\n')
    .slice(2);
  return heads
    .map((h, i) => `${h}\n    ${terminalSafe(String(rows[i]?.[text] ?? '')).replace(/[\r\n]+/g, ' ')}`)
    .join('\n');
}

/** An instant to the second, as tables show it ("2026-12-03T10:00:00Z"); '' for none. */
export function instantText(v: string | Date | null | undefined): string {
  if (v === null || v === undefined) return '';
  return new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The format of a listing: an aligned table, or JSON lines (every field). */
export type ListFormat = 'table' | 'json';
export const LIST_FORMATS: readonly ListFormat[] = ['table', 'json'];
