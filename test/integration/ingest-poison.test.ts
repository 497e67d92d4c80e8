import type { Knex } from 'knex';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ingestFile } from '../../activities/ingest-file';
import { ErrorType } from '../../domain/errors';
import { cloneTestDatabase } from '../support/db';
import { applyExample, count, factSums, rec, tempDir, TEST_AS_OF, writeFile } from '../support/fixtures';

/** Input a careless partner feed or an attacker sends: every record is loaded or quarantined, none stops a file. */
let db: Knex;
let drop: () => Promise<void>;
let dir: string;
beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  await applyExample(db);
  dir = tempDir('poison');
});
afterAll(async () => drop());
beforeEach(async () => {
  await db.raw('TRUNCATE ingest_batches, usage_facts CASCADE');
});

const ingest = (file: string, format: 'ndjson' | 'csv' | 'tsv' = 'ndjson') =>
  ingestFile(db, { path: file, format, asOfMs: TEST_AS_OF, retentionDays: 400 });
const H = '2026-11-20T10:00:00Z';

async function quarantined(): Promise<{ line: number; reason: string; detail: string; raw: string }[]> {
  return db('quarantine').orderBy('line').select('line', 'reason', 'detail', 'raw');
}

describe('poisoned input', () => {
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
    expect(await ingest(csv, 'csv')).toMatchObject({ records_read: 2, accepted: 1, quarantined: 1 });
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
    const r = await ingest(file, 'csv');
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
