import fc from 'fast-check';
import zlib from 'node:zlib';

/**
 * Fuzzed usage files for the drop folder: valid records mixed with what a careless feed or an attacker sends —
 * random bytes, invalid UTF-8, NUL, control and unicode characters in every field, huge and tiny numbers, CSV
 * quoting tricks, mixed line endings. Each file says how many physical records it holds, counted as they are
 * written (never by the reader under test): ingest must account for exactly that many, accepted + quarantined.
 */
export interface FuzzFile {
  name: string;
  bytes: Buffer;
  records: number;
}

export interface FuzzOptions {
  records: number;
  seed: number;
  /** Valid records fall in [fromMs, toMs) (the backfilled month). */
  fromMs: number;
  toMs: number;
  orgs: string[];
  products: string[];
  perFile?: number;
}

type Field = string | number | null | string[] | unknown[];
interface Rec {
  timestamp: Field;
  org: Field;
  product: Field;
  value: Field;
  tags: Field;
  /** A whole line of garbage instead of a record. */
  garbage?: number[];
  /** CSV only: a quoting trick applied to the tags field. */
  trick?: 'quote-in-field' | 'after-quote' | 'quoted-break' | 'unclosed' | 'extra-column';
  eol: '\n' | '\r\n' | '\r';
}

const isoVariant = (ms: number, v: number): string => {
  const d = new Date(ms);
  const iso = d.toISOString();
  switch (v % 5) {
    case 0:
      return iso;
    case 1:
      return iso.replace('.000Z', 'Z');
    case 2:
      return iso.replace('Z', '+00:00');
    case 3:
      return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
    default: {
      const shifted = new Date(ms + 2 * 3_600_000).toISOString().slice(0, 19);
      return `${shifted}+02:00`;
    }
  }
};

const WEIRD = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(
    '\u0000',
    '\u001b[2J',
    '\u202e',
    '=cmd|',
    '"',
    ',',
    '\t',
    'é',
    '日本',
    '\u{1f600}',
    '\uFFFF',
  ),
);

/** `arb` with probability p, else undefined. */
function sometimes<T>(p: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  const n = Math.round(1 / p) - 1;
  return fc.oneof({ weight: n, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

function recordArb(o: FuzzOptions): fc.Arbitrary<Rec> {
  const hours = Math.floor((o.toMs - o.fromMs) / 3_600_000);
  const validTs = fc
    .tuple(fc.integer({ min: 0, max: hours - 1 }), fc.integer({ min: 0, max: 3_599_999 }), fc.nat(4))
    .map(([h, ms, v]) => isoVariant(o.fromMs + h * 3_600_000 + (v === 4 ? 0 : ms), v));
  const badTs = fc.oneof(
    fc.constantFrom('2026-02-30T00:00:00Z', 'yesterday', '', '1999-01-01T00:00:00Z', '2099-01-01T00:00:00Z'),
    validTs.map((t) => `${t}\u0000`),
    WEIRD,
  );
  const value = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 5000 }).map(String) },
    { weight: 4, arbitrary: fc.tuple(fc.nat(999), fc.nat(999_999)).map(([a, b]) => `${a}.${b}`) },
    { weight: 2, arbitrary: fc.double({ min: 0, max: 1e6, noNaN: true }) },
    { weight: 1, arbitrary: fc.integer({ min: 19, max: 3000 }).map((n) => '9'.repeat(n)) },
    { weight: 1, arbitrary: fc.integer({ min: 13, max: 400 }).map((n) => `1e-${n}`) },
    { weight: 1, arbitrary: fc.constantFrom('-1', 'NaN', 'Infinity', '', 'twelve', '1,5', '0x10', '-0') },
    { weight: 1, arbitrary: WEIRD },
  );
  const tag = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('team:web', 'team:data', 'env:prod', 'env:dev', 'service:api') },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom('team', 'env', 'x'), WEIRD).map(([k, v]) => `${k}:${v}`),
    },
    { weight: 1, arbitrary: fc.constantFrom(':orphan', '9lives:x', 'TEAM:Web', 'team', 'env:') },
    { weight: 1, arbitrary: WEIRD },
  );
  const org = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...o.orgs) },
    { weight: 1, arbitrary: fc.constantFrom(...o.orgs).map((x) => `${x}\u0000`) },
    { weight: 1, arbitrary: WEIRD },
  );
  const product = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...o.products) },
    { weight: 1, arbitrary: fc.constantFrom('quantum_hosts', '', 'INFRA_HOSTS') },
    { weight: 1, arbitrary: WEIRD },
  );
  return fc.record({
    timestamp: fc.oneof({ weight: 9, arbitrary: validTs }, { weight: 1, arbitrary: badTs }),
    org,
    product,
    value,
    tags: fc.array(tag, { maxLength: 4 }),
    garbage: sometimes(1 / 12, fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 60 })),
    trick: sometimes(
      1 / 10,
      fc.constantFrom('quote-in-field', 'after-quote', 'quoted-break', 'unclosed', 'extra-column'),
    ),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
  }) as fc.Arbitrary<Rec>;
}

/** Garbage bytes that stay one physical record: no line break, never blank, no CSV quote. */
function garbageLine(bytes: number[], format: 'ndjson' | 'csv' | 'tsv'): Buffer {
  const kept = bytes.filter((b) => b !== 10 && b !== 13 && !(format === 'csv' && b === 34));
  return Buffer.concat([Buffer.from('#'), Buffer.from(kept)]);
}

const text = (f: Field): string =>
  f === null || f === undefined ? '' : Array.isArray(f) ? f.map(String).join(',') : String(f);

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One record as bytes of the format; the number of physical records it makes is always one. */
function render(r: Rec, format: 'ndjson' | 'csv' | 'tsv', last: boolean): Buffer {
  if (r.garbage) return Buffer.concat([garbageLine(r.garbage, format), Buffer.from(r.eol)]);
  if (format === 'ndjson') {
    return Buffer.from(
      `${JSON.stringify({ timestamp: r.timestamp, org: r.org, product: r.product, value: r.value, tags: r.tags })}${r.eol}`,
    );
  }
  if (format === 'tsv') {
    const clean = (s: string) => s.replace(/[\t\r\n]/g, ' ');
    const cells = [r.timestamp, r.org, r.product, r.value, r.tags].map((f) => clean(text(f)));
    if (cells.join('').trim() === '') cells[0] = 'x';
    return Buffer.from(`${cells.join('\t')}${r.eol}`);
  }
  const cells = [r.timestamp, r.org, r.product, r.value].map((f) => csvField(text(f)));
  const tags = text(r.tags);
  let tagCell = csvField(tags);
  switch (r.trick) {
    case 'quote-in-field':
      tagCell = `te""am${tags.replace(/[",\r\n]/g, '')}`;
      break;
    case 'after-quote':
      tagCell = `${csvField(`${tags}"`)}x`;
      break;
    case 'quoted-break':
      tagCell = `"${tags.replace(/"/g, '""')}\r\nenv:b"`;
      break;
    case 'unclosed':
      // An unclosed quote runs to the end of the file: only as a file's last record is its extent known here.
      if (last) tagCell = `"${tags.replace(/"/g, '')}`;
      break;
    case 'extra-column':
      tagCell = `${tagCell},extra`;
      break;
  }
  return Buffer.from(`${[...cells, tagCell].join(',')}${r.eol}`);
}

const HEADERS = {
  csv: 'timestamp,org,product,value,tags\n',
  tsv: 'timestamp\torg\tproduct\tvalue\ttags\r\n',
};
const FORMATS = ['ndjson', 'csv', 'tsv', 'ndjson.gz', 'csv.gz'] as const;

export function fuzzFiles(o: FuzzOptions): FuzzFile[] {
  const perFile = o.perFile ?? Math.ceil(o.records / 10);
  const all = fc.sample(recordArb(o), { seed: o.seed, numRuns: o.records });
  const files: FuzzFile[] = [];
  for (let i = 0; i * perFile < all.length; i++) {
    const kind = FORMATS[i % FORMATS.length] as (typeof FORMATS)[number];
    const format = kind.replace('.gz', '') as 'ndjson' | 'csv' | 'tsv';
    const recs = all.slice(i * perFile, (i + 1) * perFile);
    const bom = i % 3 === 0 ? '\uFEFF' : ''; // a byte-order mark on some files, as spreadsheets write them
    const parts: Buffer[] = [Buffer.from(format === 'ndjson' ? bom : `${bom}${HEADERS[format]}`)];
    recs.forEach((r, j) => {
      parts.push(render(r, format, j === recs.length - 1));
      if (j % 97 === 0) parts.push(Buffer.from('\n')); // a blank line (or the \n of a \r\n): not a record
    });
    const body = Buffer.concat(parts);
    files.push({
      name: `fuzz_${String(i + 1).padStart(3, '0')}.${kind}`,
      bytes: kind.endsWith('.gz') ? zlib.gzipSync(body) : body,
      records: recs.length,
    });
  }
  return files;
}
