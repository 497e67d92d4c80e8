import type { Knex } from 'knex';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { applyAccountSpec } from '../../db/accounts';
import { attributeDay, pendingDays } from '../../db/attribution';
import { exportDay, reconcileDay } from '../../db/attribution-files';
import { attributionRows } from '../../db/attribution-report';
import { migrateDownThrough, migrateLatest } from '../../db/migrate';
import { dec } from '../../domain/exact';
import { ingestStream } from '../../activities/ingest-file';
import { cellsFor } from '../../domain/attribution';
import { ErrorType } from '../../domain/errors';
import { normalizeTagSet } from '../../domain/tags';
import { prng } from '../../scripts/lib/sample-data';
import { cloneTestDatabase } from '../support/db';
import { exampleSpecJson, parseSpec, rec, tempDir, TEST_AS_OF } from '../support/fixtures';

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => ({ db, drop } = await cloneTestDatabase()));
afterAll(async () => drop());

const ingestLines = (lines: string[], opts: { replace?: boolean } = {}) =>
  ingestStream(db, {
    source: 'test.ndjson',
    stream: Readable.from([lines.map((l) => `${l}\n`).join('')]),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
    ...opts,
  });

async function applyKeys(keys: string[], effectiveFrom?: string) {
  const spec = exampleSpecJson() as { attribution: unknown };
  spec.attribution = { tag_keys: keys, ...(effectiveFrom ? { effective_from: effectiveFrom } : {}) };
  await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
}

describe('attribution, property: rows add up to the facts for any tag-key list', () => {
  const ORGS = ['acme', 'client-a', 'client-a-eu', 'client-b', 'trial-x'];
  const PRODUCTS = ['infra_hosts', 'logs_ingested_bytes', 'apm_hosts'];
  const TAGS = [
    'team:web',
    'team:data',
    'team:',
    'env:prod',
    'env:dev',
    'service:api',
    'region:eu',
    'Team:Web',
    'owner',
  ];
  const KEYS = ['team', 'env', 'service', 'region', 'owner', 'absent'];

  beforeAll(async () => {
    await db.raw('TRUNCATE accounts, ingest_batches, usage_facts, tag_sets CASCADE');
  });

  it.each(Array.from({ length: 12 }, (_, i) => i + 1))('seed %i', async (seed) => {
    await db.raw('TRUNCATE ingest_batches, usage_facts, attribution_pending CASCADE');
    const rand = prng(seed);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
    const keys = KEYS.filter(() => rand() < 0.5).sort(() => rand() - 0.5);
    await applyKeys(keys, '2020-01-01');
    // Reference, computed in TypeScript with integer thousandths: Σ per (org, product, hour, cells).
    const expected = new Map<string, bigint>();
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const org = pick(ORGS);
      const product = pick(PRODUCTS);
      const hour = `2026-11-${pick(['14', '15'])}T${String(Math.floor(rand() * 24)).padStart(2, '0')}:${pick(['00', '30'])}:00Z`;
      const tags = TAGS.filter(() => rand() < 0.3);
      const milli = BigInt(Math.floor(rand() * 100_000));
      lines.push(rec(hour, org, product, `${milli / 1000n}.${String(milli % 1000n).padStart(3, '0')}`, tags));
      const norm = normalizeTagSet(tags);
      if (!norm.ok) throw new Error('bad generated tags');
      const k = [org, product, `${hour.slice(0, 13)}`, JSON.stringify(cellsFor(norm.tags, keys))].join(' ');
      expected.set(k, (expected.get(k) ?? 0n) + milli);
    }
    const r = await ingestLines(lines);
    expect(r.accepted).toBe(300);
    for (const day of ['2026-11-14', '2026-11-15']) await attributeDay(db, { accountId: 'acme', day });
    // The hourly rows as readers get them: the facts grouped through the days' cell dictionaries.
    const actual = new Map<string, bigint>();
    for (const day of ['2026-11-14', '2026-11-15']) {
      const got = await attributionRows(db, { accountId: 'acme', day });
      for (const x of got?.rows ?? []) {
        const milli = dec(x.total_usage);
        actual.set(
          [x.public_id, x.usage_type, x.hour.slice(0, 13), JSON.stringify(x.cells)].join(' '),
          milli.n * 10n ** BigInt(3 - milli.s),
        );
      }
    }
    expect(actual).toEqual(expected);
    const { rows: bad } = await db.raw(`SELECT * FROM attribution_totals WHERE facts_total <> rows_total`);
    expect(bad).toEqual([]);
  });
});

describe('attribution lifecycle', () => {
  beforeAll(async () => {
    await db.raw('TRUNCATE accounts, ingest_batches, usage_facts, tag_sets CASCADE');
    await applyKeys(['team', 'env'], '2020-01-01');
  });

  it('late data marks an attributed day pending; attributing it clears the mark', async () => {
    await ingestLines([rec('2026-11-20T08:00:00Z', 'client-a', 'infra_hosts', 2, ['team:web'])]);
    expect(await pendingDays(db, 'acme')).toEqual(['2026-11-20']);
    await attributeDay(db, { accountId: 'acme', day: '2026-11-20' });
    expect(await pendingDays(db, 'acme')).toEqual([]);
    await ingestLines([
      rec('2026-11-20T09:00:00Z', 'client-a', 'infra_hosts', 1, ['team:web']),
      rec('2026-11-21T09:00:00Z', 'client-b', 'infra_hosts', 1),
    ]);
    expect(await pendingDays(db, 'acme')).toEqual(['2026-11-20', '2026-11-21']);
    const again = await attributeDay(db, { accountId: 'acme', day: '2026-11-20' });
    expect(again.facts).toBe(2);
    expect(await pendingDays(db, 'acme')).toEqual(['2026-11-21']);
    // --replace marks the days of the keys it replaces.
    await attributeDay(db, { accountId: 'acme', day: '2026-11-21' });
    await ingestLines([rec('2026-11-20T09:00:00Z', 'client-a', 'infra_hosts', 5, ['team:web'])], {
      replace: true,
    });
    expect(await pendingDays(db, 'acme')).toEqual(['2026-11-20']);
  });

  it('uses the tag keys in effect on the day; --restate-tags uses the newest', async () => {
    await applyKeys(['service'], '2026-11-21');
    const before = await attributeDay(db, { accountId: 'acme', day: '2026-11-20' });
    const after = await attributeDay(db, { accountId: 'acme', day: '2026-11-21' });
    expect([before.tagKeys, after.tagKeys]).toEqual([['team', 'env'], ['service']]);
    const restated = await attributeDay(db, { accountId: 'acme', day: '2026-11-20', restateTags: true });
    expect(restated.tagKeys).toEqual(['service']);
    const run = await db('attribution_runs').where({ account_id: 'acme', day: '2026-11-20' }).first();
    expect([run.restated_tags, run.tag_keys]).toEqual([true, ['service']]);
  });

  it('reconcile refuses a file that does not add up to the facts', async () => {
    const outputDir = tempDir('recon');
    await attributeDay(db, { accountId: 'acme', day: '2026-11-20' });
    const files = await exportDay(db, { accountId: 'acme', day: '2026-11-20', outputDir });
    await expect(reconcileDay(db, { accountId: 'acme', day: '2026-11-20', files })).resolves.toMatchObject({
      checkedFiles: 10,
    });
    const infra = files.find((f) => f.product === 'infra_hosts');
    if (!infra) throw new Error('no infra_hosts file');
    fs.writeFileSync(infra.file, fs.readFileSync(infra.file, 'utf8').replace(/\t5\n/, '\t6\n'));
    await expect(reconcileDay(db, { accountId: 'acme', day: '2026-11-20', files })).rejects.toMatchObject({
      type: ErrorType.ReconciliationMismatch,
      message: expect.stringMatching(
        /daily_infra_hosts_2026-11-20\.tsv client-a: file 8 \(2 rows\), facts 7/,
      ),
    });
  });

  it('a pending day reads its current facts, a tag set new to the day included', async () => {
    const day = '2026-11-22';
    await ingestLines([rec(`${day}T08:00:00Z`, 'client-a', 'infra_hosts', 2, ['service:api'])]);
    await attributeDay(db, { accountId: 'acme', day });
    await ingestLines([
      rec(`${day}T08:00:00Z`, 'client-a', 'infra_hosts', 7, ['service:new']),
      rec(`${day}T08:00:00Z`, 'client-a', 'infra_hosts', 3, ['service:api']),
    ]);
    expect(await pendingDays(db, 'acme')).toContain(day);
    const rows = (await attributionRows(db, { accountId: 'acme', day, product: 'infra_hosts' }))?.rows ?? [];
    expect(rows.map((r) => [r.public_id, r.hour, r.cells, r.total_usage])).toEqual([
      ['client-a', `${day}T08:00:00Z`, ['api'], '5'],
      ['client-a', `${day}T08:00:00Z`, ['new'], '7'],
    ]);
    // Attributed again, the day's dictionary knows the new tag set and the rows are the same.
    await attributeDay(db, { accountId: 'acme', day });
    const again = (await attributionRows(db, { accountId: 'acme', day, product: 'infra_hosts' }))?.rows ?? [];
    expect(again.map((r) => [r.cells, r.total_usage])).toEqual([
      [['api'], '5'],
      [['new'], '7'],
    ]);
  });

  it('one attribution of a day at a time: a second waits for the lock, then attributes what is there', async () => {
    const holder = await db.client.acquireConnection();
    const key = ['orgtally.attribution', 'acme/2026-11-20'];
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', key);
      let done = false;
      const run = attributeDay(db, { accountId: 'acme', day: '2026-11-20' }).then((r) => {
        done = true;
        return r;
      });
      // Meanwhile another day is not held up.
      await attributeDay(db, { accountId: 'acme', day: '2026-11-21' });
      await new Promise((r) => setTimeout(r, 300));
      expect(done).toBe(false);
      await ingestLines([rec('2026-11-20T10:00:00Z', 'client-b', 'infra_hosts', 4)]);
      await holder.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', key);
      // The waiting run's snapshot starts after the lock: it sees the batch committed while it waited.
      const r = await run;
      expect(r.facts).toBe(3);
      expect(await pendingDays(db, 'acme')).not.toContain('2026-11-20');
    } finally {
      await db.client.releaseConnection(holder);
    }
  });

  it('an unknown account is a permanent error', async () => {
    await expect(attributeDay(db, { accountId: 'nobody', day: '2026-11-20' })).rejects.toMatchObject({
      type: ErrorType.UnknownAccount,
    });
  });
});

describe('the upgrade from stored hourly rows', () => {
  it('keeps every attributed day readable: down rebuilds the hourly rows, up the cell dictionaries', async () => {
    await db.raw('TRUNCATE accounts, ingest_batches, usage_facts, tag_sets CASCADE');
    await applyKeys(['team', 'env'], '2020-01-01');
    await ingestLines([
      rec('2026-11-20T08:00:00Z', 'client-a', 'infra_hosts', 2, ['team:web', 'env:prod']),
      rec('2026-11-20T08:00:00Z', 'client-a', 'infra_hosts', '0.5', ['team:web', 'env:prod', 'region:eu']),
      rec('2026-11-20T09:00:00Z', 'client-b', 'infra_hosts', 3, ['team:a', 'team:b']),
      rec('2026-11-21T09:00:00Z', 'client-b', 'apm_hosts', 1),
    ]);
    for (const day of ['2026-11-20', '2026-11-21']) await attributeDay(db, { accountId: 'acme', day });
    const rows = async () =>
      [
        ...((await attributionRows(db, { accountId: 'acme', day: '2026-11-20' }))?.rows ?? []),
        ...((await attributionRows(db, { accountId: 'acme', day: '2026-11-21' }))?.rows ?? []),
      ].map((r) => `${r.usage_type} ${r.public_id} ${r.hour} ${JSON.stringify(r.cells)} ${r.total_usage}`);
    const before = await rows();
    expect(before).toEqual([
      'infra_hosts client-a 2026-11-20T08:00:00Z ["web","prod"] 2.5',
      'infra_hosts client-b 2026-11-20T09:00:00Z ["a|b",null] 3',
      'apm_hosts client-b 2026-11-21T09:00:00Z [null,null] 1',
    ]);
    const cells = await db.raw(
      'SELECT account_id, day, tag_set_id, combo, cells FROM attribution_cells ORDER BY 2, 3',
    );
    const totals = await db('attribution_totals').orderBy(['day', 'org_id', 'product_id']);

    await migrateDownThrough(db, '20261207000000_attribution_cells');
    const { rows: hourly } = await db.raw(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, cells, total_usage::text FROM attribution_hourly ORDER BY 1, 2`,
    );
    expect(hourly).toEqual([
      { day: '2026-11-20', cells: ['a|b', null], total_usage: '3' },
      { day: '2026-11-20', cells: ['web', 'prod'], total_usage: '2.5' },
      { day: '2026-11-21', cells: [null, null], total_usage: '1' },
    ]);

    await migrateLatest(db);
    expect(
      (await db.raw('SELECT account_id, day, tag_set_id, combo, cells FROM attribution_cells ORDER BY 2, 3'))
        .rows,
    ).toEqual(cells.rows);
    expect(await db('attribution_totals').orderBy(['day', 'org_id', 'product_id'])).toEqual(totals);
    expect(await rows()).toEqual(before);
  });
});
