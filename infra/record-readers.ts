import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { DelimitedParser, type DelimitedRecord } from '../domain/delimited';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { LineSplitter, type PhysicalLine } from '../domain/lines';
import type { InputFormat, RawRecord, ReadRecord } from '../domain/records';

export type { InputFormat, ReadRecord } from '../domain/records';

export function formatFromName(name: string): InputFormat | undefined {
  const m = /\.(ndjson|jsonl|json|csv|tsv|txt)(\.gz)?$/i.exec(name);
  const ext = m?.[1]?.toLowerCase();
  if (ext === 'ndjson' || ext === 'jsonl' || ext === 'json') return 'ndjson';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv') return 'tsv';
  return undefined;
}

/**
 * Reads records from a stream in batches (one batch per chunk read): never the whole file in memory, and no
 * promise per record. Every non-blank physical record is yielded exactly once, with the number of its first line.
 */
export async function* readRecords(input: Readable, format: InputFormat): AsyncIterable<ReadRecord[]> {
  const decoder = new StringDecoder('utf8'); // invalid UTF-8 becomes U+FFFD, never an exception
  const lines = new LineSplitter();
  const toRecords = format === 'ndjson' ? ndjson() : delimited(format === 'csv' ? ',' : '\t');
  const physical: PhysicalLine[] = [];
  for await (const chunk of input as AsyncIterable<Buffer>) {
    lines.push(decoder.write(chunk), physical);
    const batch = toRecords(physical, false);
    physical.length = 0;
    if (batch.length) yield batch;
  }
  lines.push(decoder.end(), physical);
  lines.end(physical);
  const batch = toRecords(physical, true);
  if (batch.length) yield batch;
}

type Stage = (lines: PhysicalLine[], last: boolean) => ReadRecord[];

function ndjson(): Stage {
  return (lines) => {
    const out: ReadRecord[] = [];
    for (const { line, text, length } of lines) {
      if (length !== undefined) out.push({ line, raw: text, malformed: `line is ${length} characters long` });
      else if (text.trim() !== '') out.push(parseNdjsonLine(line, text));
    }
    return out;
  };
}

function parseNdjsonLine(line: number, raw: string): ReadRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch (err) {
    return { line, raw, malformed: `not valid JSON: ${(err as Error).message}` };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    return { line, raw, malformed: 'not a JSON object' };
  // The parsed object carries the record's fields (timestamp, org, product, value, tags) as they are.
  return { line, raw, record: obj as RawRecord };
}

const REQUIRED = ['timestamp', 'org', 'product', 'value'] as const;

function delimited(delimiter: ',' | '\t'): Stage {
  const parser = new DelimitedParser(delimiter);
  let columns: Map<string, number> | undefined;
  let width = 0;
  const parsed: DelimitedRecord[] = [];
  return (lines, last) => {
    for (const l of lines) parser.feed(l, parsed);
    if (last) parser.end(parsed);
    const out: ReadRecord[] = [];
    for (const r of parsed) {
      if (!columns) {
        if ('malformed' in r) {
          throw new OrgtallyError(
            ErrorType.UnreadableInput,
            `the header row (line ${r.line}) cannot be read: ${r.malformed}`,
          );
        }
        columns = new Map(r.fields.map((h, i) => [h.trim().toLowerCase(), i]));
        width = r.fields.length;
        const missing = REQUIRED.filter((c) => !columns?.has(c));
        if (missing.length) {
          throw new OrgtallyError(
            ErrorType.UnreadableInput,
            `the header row (line ${r.line}) lacks column(s) ${missing.join(', ')}; found: ${r.fields.join(', ')}`,
          );
        }
        continue;
      }
      if ('malformed' in r) out.push(r);
      else if (r.fields.length !== width)
        out.push({
          line: r.line,
          raw: r.raw,
          malformed: `expected ${width} columns, found ${r.fields.length}`,
        });
      else {
        const f = r.fields;
        const col = (name: string) => {
          const i = columns?.get(name);
          return i === undefined ? undefined : f[i];
        };
        out.push({
          line: r.line,
          raw: r.raw,
          record: {
            timestamp: col('timestamp'),
            org: col('org'),
            product: col('product'),
            value: col('value'),
            tags: col('tags'),
          },
        });
      }
    }
    parsed.length = 0;
    // An empty file has no header and no records: zero records read, which is not an error.
    return out;
  };
}
