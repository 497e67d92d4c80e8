import { parse } from 'csv-parse';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { ErrorType, OrgtallyError } from '../domain/errors';
import type { RawRecord } from '../domain/records';

export type InputFormat = 'ndjson' | 'csv' | 'tsv';

/** One input record: its line, its raw text, and either the fields read or why they could not be read. */
export type ReadRecord = { line: number; raw: string } & ({ record: RawRecord } | { malformed: string });

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
 * promise per record.
 */
export function readRecords(input: Readable, format: InputFormat): AsyncIterable<ReadRecord[]> {
  return format === 'ndjson'
    ? readNdjson(input)
    : batched(readDelimited(input, format === 'csv' ? ',' : '\t'));
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

async function* readNdjson(input: Readable): AsyncIterable<ReadRecord[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  const take = (text: string, batch: ReadRecord[]) => {
    line++;
    const raw = (line === 1 ? text.replace(/^\uFEFF/, '') : text).replace(/\r$/, '');
    if (raw.trim() !== '') batch.push(parseNdjsonLine(line, raw));
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const text = rest + decoder.write(chunk);
    const batch: ReadRecord[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      take(text.slice(start, nl), batch);
      start = nl + 1;
    }
    rest = text.slice(start);
    if (batch.length) yield batch;
  }
  const last = rest + decoder.end();
  const batch: ReadRecord[] = [];
  if (last !== '') take(last, batch);
  if (batch.length) yield batch;
}

async function* batched(records: AsyncIterable<ReadRecord>, size = 2000): AsyncIterable<ReadRecord[]> {
  let batch: ReadRecord[] = [];
  for await (const r of records) {
    batch.push(r);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

const REQUIRED = ['timestamp', 'org', 'product', 'value'] as const;

async function* readDelimited(input: Readable, delimiter: string): AsyncIterable<ReadRecord> {
  const skipped: ReadRecord[] = [];
  const parser = input.pipe(
    parse({
      delimiter,
      bom: true,
      quote: delimiter === ',' ? '"' : false,
      raw: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err: { lines?: number; message: string } | undefined, raw?: string) => {
        skipped.push({
          line: err?.lines ?? 0,
          raw: raw ?? '',
          malformed: err?.message ?? 'unparseable record',
        });
      },
    }),
  );
  let columns: Map<string, number> | undefined;
  let width = 0;
  for await (const item of parser as AsyncIterable<{
    record: string[];
    raw: string;
    info: { lines: number };
  }>) {
    while (skipped.length) yield skipped.shift() as ReadRecord;
    const { record, info } = item;
    const raw = item.raw.replace(/\r?\n$/, '');
    if (!columns) {
      columns = new Map(record.map((h, i) => [h.trim().toLowerCase(), i]));
      width = record.length;
      const missing = REQUIRED.filter((c) => !columns?.has(c));
      if (missing.length) {
        throw new OrgtallyError(
          ErrorType.UnreadableInput,
          `the header row lacks column(s) ${missing.join(', ')}; found: ${record.join(', ')}`,
        );
      }
      continue;
    }
    if (record.length !== width) {
      yield { line: info.lines, raw, malformed: `expected ${width} columns, found ${record.length}` };
      continue;
    }
    const col = (name: string) => {
      const i = columns?.get(name);
      return i === undefined ? undefined : record[i];
    };
    yield {
      line: info.lines,
      raw,
      record: {
        timestamp: col('timestamp'),
        org: col('org'),
        product: col('product'),
        value: col('value'),
        tags: col('tags'),
      },
    };
  }
  // An empty file has no header and no records: zero records read, which is not an error.
  while (skipped.length) yield skipped.shift() as ReadRecord;
}
