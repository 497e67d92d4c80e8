import type { Knex } from 'knex';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ingestFile } from '../../activities/ingest-file';
import { ErrorType } from '../../domain/errors';
import { cloneTestDatabase } from '../support/db';
import { applyExample, count, factSums, rec, tempDir, TEST_AS_OF, writeFile } from '../support/fixtures';

let db: Knex;
let drop: () => Promise<void>;
let dir: string;
beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  await applyExample(db);
  dir = tempDir('ingest');
});
afterAll(async () => drop());

const ingest = (file: string, extra: { batchId?: string; replace?: boolean } = {}) =>
  ingestFile(db, {
    path: file,
    format: file.endsWith('.csv') ? 'csv' : file.endsWith('.tsv') ? 'tsv' : 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
    ...extra,
  });

const H = '2026-11-20T10:00:00Z';

describe('ingest', () => {
  beforeEach(async () => {
    await db.raw('TRUNCATE ingest_batches, usage_facts CASCADE');
  });

  it('accepts good records, quarantines every bad one with file, line, raw text and reason', async () => {
    const lines = [
      rec(H, 'client-a', 'infra_hosts', 5, ['team:web', 'env:prod']), // 1 ok
      '{"timestamp": "2026-11-20T10:00:00Z", "org": ', // 2 malformed_record
      '[1, 2, 3]', // 3 malformed_record (not an object)
      rec('2026-11-31T10:00:00Z', 'client-a', 'infra_hosts', 1), // 4 bad_timestamp
      rec(H, 'nobody', 'infra_hosts', 1), // 5 unknown_org
      rec(H, 'client-a', 'warp_drives', 1), // 6 unknown_product
      rec(H, 'client-a', 'infra_hosts', -1), // 7 bad_value (negative)
      rec(H, 'client-a', 'infra_hosts', 'NaN'), // 8 bad_value (NaN)
      rec(H, 'client-a', 'infra_hosts', 'Infinity'), // 9 bad_value (infinite)
      rec(H, 'client-a', 'infra_hosts', 'twelve'), // 10 bad_value (not a number)
      rec(H, 'client-a', 'infra_hosts', 1, ['env:prod', ':x']), // 11 malformed_tag
      rec(H, 'client-a', 'infra_hosts', 1, 'env:prod'), // 12 tags as a string in NDJSON: accepted as a list
      rec('2024-01-01T00:00:00Z', 'client-a', 'infra_hosts', 1), // 13 too old
      rec('2026-11-28T13:00:00Z', 'client-a', 'infra_hosts', 1), // 14 future
      '', // blank lines are not records
      rec('2026-11-20T10:59:59.999+00:00', 'client-a', 'infra_hosts', '2.50', ['Team:WEB', 'ENV:prod']), // 16 ok, adds to line 1
    ];
    const file = writeFile(dir, 'mixed.ndjson', lines);
    const r = await ingest(file);
    expect(r).toMatchObject({ records_read: 15, accepted: 3, quarantined: 12, duplicate_batch: false });
    expect(r.accepted + r.quarantined).toBe(r.records_read);
    expect(r.quarantined_by_reason).toEqual({
      malformed_record: 2,
      bad_timestamp: 1,
      unknown_org: 1,
      unknown_product: 1,
      bad_value: 4,
      malformed_tag: 1,
      hour_outside_retention: 2,
    });
    const q = await db('quarantine').orderBy('line').select('file', 'line', 'reason', 'raw');
    expect(q.map((x) => [x.line, x.reason])).toEqual([
      [2, 'malformed_record'],
      [3, 'malformed_record'],
      [4, 'bad_timestamp'],
      [5, 'unknown_org'],
      [6, 'unknown_product'],
      [7, 'bad_value'],
      [8, 'bad_value'],
      [9, 'bad_value'],
      [10, 'bad_value'],
      [11, 'malformed_tag'],
      [13, 'hour_outside_retention'],
      [14, 'hour_outside_retention'],
    ]);
    expect(q.every((x) => x.file === file)).toBe(true);
    expect(q[0].raw).toBe(lines[1]);
    expect(await factSums(db)).toEqual({ 'client-a/infra_hosts/2026-11-20T10': '8.50' });
    // Same (org, product, hour, tag set) after normalization: one dictionary entry.
    const sets = await db('usage_facts as f')
      .join('tag_sets as t', 't.id', 'f.tag_set_id')
      .distinct('t.tags');
    expect(sets.map((s) => s.tags).sort()).toEqual([['env:prod'], ['env:prod', 'team:web']]);
    const batch = await db('ingest_batches').first();
    expect([batch.records_read, batch.accepted, batch.quarantined]).toEqual([15, 3, 12]);
  });

  it('ingesting the same file twice changes nothing', async () => {
    const file = writeFile(dir, 'twice.ndjson', [
      rec(H, 'client-b', 'containers', '3.25'),
      rec(H, 'nobody', 'containers', 1),
    ]);
    const first = await ingest(file);
    const sums = await factSums(db);
    const counts = [
      await count(db, 'usage_facts'),
      await count(db, 'quarantine'),
      await count(db, 'ingest_batches'),
    ];
    const second = await ingest(file);
    expect(second).toMatchObject({
      duplicate_batch: true,
      batch_id: first.batch_id,
      accepted: 1,
      quarantined: 1,
    });
    expect(await factSums(db)).toEqual(sums);
    expect([
      await count(db, 'usage_facts'),
      await count(db, 'quarantine'),
      await count(db, 'ingest_batches'),
    ]).toEqual(counts);
  });

  it('two concurrent ingests of one file load it once', async () => {
    const file = writeFile(
      dir,
      'race.ndjson',
      Array.from({ length: 3000 }, (_, i) =>
        rec(
          `2026-11-${String(1 + (i % 20)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z`,
          'client-c',
          'logs_ingested_bytes',
          '0.001',
        ),
      ),
    );
    const results = await Promise.all([ingest(file), ingest(file)]);
    expect(results.map((r) => r.duplicate_batch).sort()).toEqual([false, true]);
    const { rows } = await db.raw('SELECT sum(value)::text AS s, count(*)::int AS n FROM usage_facts');
    expect(rows[0]).toEqual({ s: '3.000', n: 3000 });
  });

  it('CSV and TSV load the same facts as NDJSON', async () => {
    const nd = writeFile(dir, 'same.ndjson', [
      rec(H, 'client-a', 'apm_hosts', 2, ['team:web', 'env:prod']),
      rec(H, 'client-b', 'apm_hosts', '1.5', []),
    ]);
    await ingest(nd);
    const fromNdjson = await factSums(db);
    await db.raw('TRUNCATE ingest_batches, usage_facts CASCADE');
    const csv = writeFile(dir, 'same.csv', [
      'org,timestamp,product,value,tags',
      `client-a,${H},apm_hosts,2,"team:web,env:prod"`,
      `client-b,${H},apm_hosts,1.5,`,
      `client-b,${H},apm_hosts`, // wrong column count → quarantined
    ]);
    const c = await ingest(csv);
    expect(c).toMatchObject({
      records_read: 3,
      accepted: 2,
      quarantined: 1,
      quarantined_by_reason: { malformed_record: 1 },
    });
    expect(await db('quarantine').select('line').first()).toEqual({ line: 4 });
    expect(await factSums(db)).toEqual(fromNdjson);
    await db.raw('TRUNCATE ingest_batches, usage_facts CASCADE');
    const tsv = writeFile(dir, 'same.tsv', [
      'timestamp\torg\tproduct\tvalue\ttags',
      `${H}\tclient-a\tapm_hosts\t2\tteam:web,env:prod`,
      `${H}\tclient-b\tapm_hosts\t1.5\t`,
    ]);
    expect(await ingest(tsv)).toMatchObject({ records_read: 2, accepted: 2 });
    expect(await factSums(db)).toEqual(fromNdjson);
  });

  it('--replace replaces earlier facts for the keys the batch carries; without it batches add up', async () => {
    const H2 = '2026-11-20T11:00:00Z';
    await ingest(
      writeFile(dir, 'day1.ndjson', [
        rec(H, 'client-a', 'infra_hosts', 4, ['env:prod']),
        rec(H, 'client-a', 'infra_hosts', 1, ['env:dev']),
        rec(H2, 'client-a', 'infra_hosts', 7),
      ]),
    );
    await ingest(writeFile(dir, 'extra.ndjson', [rec(H2, 'client-a', 'infra_hosts', 1)]));
    expect(await factSums(db)).toEqual({
      'client-a/infra_hosts/2026-11-20T10': '5',
      'client-a/infra_hosts/2026-11-20T11': '8',
    });
    const r = await ingest(
      writeFile(dir, 'fix.ndjson', [rec(H, 'client-a', 'infra_hosts', '4.5', ['env:prod'])]),
      { replace: true },
    );
    expect(r.replaced_facts).toBe(2);
    expect(await factSums(db)).toEqual({
      'client-a/infra_hosts/2026-11-20T10': '4.5',
      'client-a/infra_hosts/2026-11-20T11': '8',
    });
  });

  it('--batch-id is the idempotency key', async () => {
    const a = writeFile(dir, 'a.ndjson', [rec(H, 'client-a', 'dbm_hosts', 1)]);
    const b = writeFile(dir, 'b.ndjson', [rec(H, 'client-a', 'dbm_hosts', 2)]);
    expect(await ingest(a, { batchId: 'feed-2026-11-20' })).toMatchObject({
      batch_id: 'feed-2026-11-20',
      duplicate_batch: false,
    });
    expect(await ingest(b, { batchId: 'feed-2026-11-20' })).toMatchObject({ duplicate_batch: true });
    expect(await factSums(db)).toEqual({ 'client-a/dbm_hosts/2026-11-20T10': '1' });
  });

  it('an unreadable input is a clear error and writes nothing', async () => {
    await expect(ingest(`${dir}/missing.ndjson`)).rejects.toMatchObject({
      type: ErrorType.UnreadableInput,
      message: expect.stringMatching(/cannot read .*missing\.ndjson/),
    });
    await expect(ingest(dir)).rejects.toMatchObject({ type: ErrorType.UnreadableInput });
    const noHeader = writeFile(dir, 'noheader.csv', [`${H},client-a,apm_hosts,2,`]);
    await expect(ingest(noHeader)).rejects.toMatchObject({
      type: ErrorType.UnreadableInput,
      message: expect.stringMatching(/header row \(line 1\) lacks column/),
    });
    expect([
      await count(db, 'ingest_batches'),
      await count(db, 'usage_facts'),
      await count(db, 'quarantine'),
    ]).toEqual([0, 0, 0]);
    expect(fs.existsSync(noHeader)).toBe(true);
  });

  it('streams a large file in chunks and keeps exact decimals', async () => {
    const n = 25_000;
    const lines = Array.from({ length: n }, (_, i) =>
      rec(
        `2026-11-${String(1 + (i % 27)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z`,
        'client-b',
        'logs_indexed_events',
        '0.1',
        [`service:s${i % 7}`],
      ),
    );
    for (let i = 0; i < 6000; i++) lines.push(rec(H, 'ghost', 'logs_indexed_events', 1)); // crosses the quarantine flush size
    const r = await ingest(writeFile(dir, 'big.ndjson', lines));
    expect(r).toMatchObject({ records_read: n + 6000, accepted: n, quarantined: 6000 });
    const { rows } = await db.raw('SELECT sum(value)::text AS s FROM usage_facts');
    expect(rows[0].s).toBe('2500.0'); // 25 000 × 0.1, exactly
    expect(await count(db, 'quarantine')).toBe(6000);
  });
});

/** Input a careless partner feed or an attacker sends: every record is loaded or quarantined, none stops a file. */
async function quarantined(): Promise<{ line: number; reason: string; detail: string; raw: string }[]> {
  return db('quarantine').orderBy('line').select('line', 'reason', 'detail', 'raw');
}

describe('ingest: poisoned input', () => {
  beforeEach(async () => {
    await db.raw('TRUNCATE ingest_batches, usage_facts CASCADE');
  });

  it('NUL bytes in org, product and timestamp are quarantined (NDJSON and CSV), text cleaned', async () => {
    const nd = writeFile(dir, 'nul.ndjson', [
      rec(H, 'client-a\u0000', 'infra_hosts', 1),
      rec(H, 'client-a', 'infra\u0000hosts', 1),
      rec(`${H}\u0000`, 'client-a', 'infra_hosts', 1),
      rec(H, 'client-a', 'infra_hosts', 2),
    ]);
    expect(await ingest(nd)).toMatchObject({ records_read: 4, accepted: 1, quarantined: 3 });
    const q = await quarantined();
    expect(q.map((x) => [x.line, x.reason])).toEqual([
      [1, 'unknown_org'],
      [2, 'unknown_product'],
      [3, 'bad_timestamp'],
    ]);
    expect(q.every((x) => !x.detail.includes('\u0000') && x.detail.includes('\uFFFD'))).toBe(true);

    const csv = path.join(dir, 'nul.csv');
    fs.writeFileSync(
      csv,
      `timestamp,org,product,value,tags\n${H},client-\u0000a,infra_hosts,1,\n${H},client-a,infra_hosts,1,team:\u0000\n`,
    );
    expect(await ingest(csv)).toMatchObject({ records_read: 2, accepted: 1, quarantined: 1 });
  });

  it('values outside the billing scale are bad_value, never accepted', async () => {
    const file = writeFile(dir, 'values.ndjson', [
      rec(H, 'client-a', 'infra_hosts', '9'.repeat(140_000)),
      rec(H, 'client-a', 'infra_hosts', '1e-24'),
      '{"timestamp":"2026-11-20T10:00:00Z","org":"client-a","product":"infra_hosts","value":5e-324}',
      rec(H, 'client-a', 'infra_hosts', '1.5e3'),
    ]);
    expect(await ingest(file)).toMatchObject({
      records_read: 4,
      accepted: 1,
      quarantined: 3,
      quarantined_by_reason: { bad_value: 3 },
    });
    expect(await factSums(db)).toEqual({ 'client-a/infra_hosts/2026-11-20T10': '1500' });
    const q = await quarantined();
    expect(q[0]?.raw.length).toBeLessThan(5000); // the 140 000 digits are not kept whole
  });

  it('CSV quoting tricks: every record once, each on a line of its own, the good ones loaded', async () => {
    const file = path.join(dir, 'quotes.csv');
    const good = (v: number) => `${H},client-a,infra_hosts,${v},team:a`;
    fs.writeFileSync(
      file,
      [
        'timestamp,org,product,value,tags',
        `${H},client-a,infra_hosts,1,te""am:a`, // 2: two quotes in an unquoted field
        `${H},client-a,infra_hosts,1,"team:a"x`, // 3: text after a closing quote
        good(1), // 4
        `${H},client-a,infra_hosts,2,"team:a,\r\nenv:b"`, // 5-6: a quoted line break
        good(3), // 7
        `${H},client-a,infra_hosts,4,"team:a`, // 8: never closed
        good(5), // 9
      ].join('\n'),
    );
    const r = await ingest(file);
    expect(r).toMatchObject({ records_read: 7, accepted: 4, quarantined: 3 });
    expect((await quarantined()).map((x) => [x.line, x.reason])).toEqual([
      [2, 'malformed_record'],
      [3, 'malformed_record'],
      [8, 'malformed_record'],
    ]);
    expect(await factSums(db)).toEqual({ 'client-a/infra_hosts/2026-11-20T10': '11' });
  });

  it('a .ndjson.gz is read (one batch with the same content uncompressed); a broken one is unreadable', async () => {
    const lines = [rec(H, 'client-b', 'containers', '3.25'), rec(H, 'client-b', 'containers', 'x')];
    const plain = writeFile(dir, 'feed.ndjson', lines);
    const gz = path.join(dir, 'feed.ndjson.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(plain)));
    expect(await ingest(gz)).toMatchObject({ records_read: 2, accepted: 1, quarantined: 1 });
    expect(await ingest(plain)).toMatchObject({ duplicate_batch: true });
    // gzip content under a plain name is recognised by its first bytes
    const disguised = path.join(dir, 'disguised.ndjson');
    fs.writeFileSync(disguised, zlib.gzipSync(Buffer.from(`${rec(H, 'client-b', 'containers', '1')}\n`)));
    expect(await ingest(disguised)).toMatchObject({ accepted: 1 });

    const broken = path.join(dir, 'broken.ndjson.gz');
    fs.writeFileSync(broken, zlib.gzipSync(Buffer.from(lines.join('\n').repeat(500))).subarray(0, 300));
    await db.raw('TRUNCATE ingest_batches, usage_facts CASCADE');
    await expect(ingest(broken)).rejects.toMatchObject({
      type: ErrorType.UnreadableInput,
      message: expect.stringContaining('is not a readable gzip file'),
    });
    expect([await count(db, 'ingest_batches'), await count(db, 'usage_facts')]).toEqual([0, 0]);
  });
});
