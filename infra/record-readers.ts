import { parse } from 'csv-parse';
import readline from 'node:readline';
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

/** Reads records one at a time from a stream: never the whole file in memory. */
export function readRecords(input: Readable, format: InputFormat): AsyncIterable<ReadRecord> {
  return format === 'ndjson' ? readNdjson(input) : readDelimited(input, format === 'csv' ? ',' : '\t');
}

async function* readNdjson(input: Readable): AsyncIterable<ReadRecord> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    const raw = line === 1 ? text.replace(/^\uFEFF/, '') : text;
    if (raw.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      yield { line, raw, malformed: `not valid JSON: ${(err as Error).message}` };
      continue;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      yield { line, raw, malformed: 'not a JSON object' };
      continue;
    }
    const o = obj as Record<string, unknown>;
    yield {
      line,
      raw,
      record: { timestamp: o.timestamp, org: o.org, product: o.product, value: o.value, tags: o.tags },
    };
  }
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
