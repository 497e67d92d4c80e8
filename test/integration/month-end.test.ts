import type { Knex } from 'knex';
import { Readable } from 'node:stream';
import { applyAccountSpec } from '../../db/accounts';
import { attributeDay } from '../../db/attribution';
import { ingestStream } from '../../activities/ingest-file';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { cellsFor } from '../../domain/attribution';
import { canonicalDecimal } from '../../domain/decimal';
import { normalizeTagSet } from '../../domain/tags';
import { prng } from '../../scripts/lib/sample-data';
import { cloneTestDatabase } from '../support/db';
import { parseSpec, rec, TEST_AS_OF } from '../support/fixtures';
import { referenceClose, type RefInput, type Row } from '../support/month-end-reference';

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => ({ db, drop } = await cloneTestDatabase()));
afterAll(async () => drop());

const AFTER = '2026-11-28T00:00:00Z'; // every test month is long past its lateness window

async function ingest(lines: string[]) {
  const r = await ingestStream(db, {
    source: 'month-end.ndjson',
    stream: Readable.from([lines.map((l) => `${l}\n`).join('')]),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
  });
  expect(r.quarantined).toBe(0);
  return r;
}

async function attributeMonth(accountId: string, month: string) {
  for (const day of (await monthDays(db, accountId, month)).toAttribute)
    await attributeDay(db, { accountId, day });
}

const canon = (rows: Record<string, unknown>[], keys: string[]) =>
  rows
    .map((r) =>
      Object.fromEntries(
        keys.map((k) => {
          const v = r[k];
          if (k === 'cells') return [k, typeof v === 'string' ? v : JSON.stringify(v)];
          return [k, typeof v === 'string' && /^-?\d/.test(v) ? canonicalDecimal(v) : String(v)];
        }),
      ),
    )
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

async function stored(accountId: string, month: string, version: number) {
  const where = { account_id: accountId, month: `${month}-01`, version };
  return {
    totals: await db('month_end_totals').where(where),
    by_org: await db('month_end_orgs').where(where),
    by_tag: await db('month_end_tags').where(where),
  };
}

describe("Datadog's worked example", () => {
  it('10 APM hosts committed, 5 used, 150 GB per host, 100 GB committed, 2 000 GB used → 400 GB on-demand', async () => {
    await applyAccountSpec(
      db,
      parseSpec({
        account: { id: 'dd', name: 'Datadog example' },
        orgs: [
          { id: 'dd', name: 'Parent' },
          { id: 'dd-app', name: 'App', parent: 'dd' },
        ],
        products: [
          { code: 'apm_hosts', unit: 'host', aggregation: 'p99' },
          {
            code: 'apm_ingested_bytes',
            unit: 'GB',
            aggregation: 'sum',
            allotment: { per: 'apm_hosts', quantity: 150 },
          },
        ],
        commitments: [
          { product: 'apm_hosts', quantity: 10, committed_price: '31', on_demand_price: '36' },
          { product: 'apm_ingested_bytes', quantity: 100, committed_price: '0.10', on_demand_price: '0.10' },
        ],
      }),
      { asOfMs: TEST_AS_OF },
    );
    const lines: string[] = [];
    for (let h = 0; h < 30 * 24; h++) {
      const ts = new Date(Date.parse('2026-09-01T00:00:00Z') + h * 3_600_000).toISOString();
      lines.push(rec(ts, 'dd-app', 'apm_hosts', 5));
      if (h % 24 === 0) lines.push(rec(ts, 'dd-app', 'apm_ingested_bytes', '66.666'));
    }
    lines.push(rec('2026-09-30T23:00:00Z', 'dd-app', 'apm_ingested_bytes', '0.02'));
    await ingest(lines);
    await attributeMonth('dd', '2026-09');
    const r = await closeMonth(db, { accountId: 'dd', month: '2026-09', asOf: AFTER });
    expect(r).toMatchObject({ outcome: 'created', version: 1, status: 'final' });
    const { totals } = await stored('dd', '2026-09', 1);
    const spans = canon(
      totals.filter((t) => t.usage_type === 'apm_ingested_bytes'),
      ['billable_usage', 'allotment_usage', 'included_usage', 'on_demand_usage', 'on_demand_cost'],
    );
    expect(spans).toEqual([
      {
        billable_usage: '2000',
        allotment_usage: '1500',
        included_usage: '1600',
        on_demand_usage: '400',
        on_demand_cost: '40',
      },
    ]);
    const hosts = canon(
      totals.filter((t) => t.usage_type === 'apm_hosts'),
      ['billable_usage', 'on_demand_usage', 'committed_cost', 'total_cost'],
    );
    expect(hosts).toEqual([
      { billable_usage: '5', on_demand_usage: '0', committed_cost: '310', total_cost: '310' },
    ]);
  });
});

describe('month-end SQL = the reference rules, on generated months', () => {
  const ORGS = [
    { id: 'ref', name: 'Ref parent' },
    { id: 'ref-a', name: 'A', parent: 'ref' },
    { id: 'ref-b', name: 'B', parent: 'ref' },
    { id: 'ref-b-eu', name: 'B EU', parent: 'ref-b' },
    { id: 'ref-trial', name: 'Trial', parent: 'ref', billable: false },
  ];
  const PRODUCTS = [
    { code: 'hosts', unit: 'host', aggregation: 'p99' },
    { code: 'containers', unit: 'container', aggregation: 'avg' },
    { code: 'committers', unit: 'committer', aggregation: 'max' },
    { code: 'dbm', unit: 'host', aggregation: 'last' },
    { code: 'logs', unit: 'GB', aggregation: 'sum' },
    {
      code: 'spans',
      unit: 'GB',
      aggregation: 'sum',
      allotment: { per: 'hosts', quantity: '2.5' },
      on_demand: 'hourly',
    },
    { code: 'unused', unit: 'seat', aggregation: 'sum' },
  ] as const;
  const COMMITMENTS = [
    { product: 'hosts', quantity: '3', committed_price: '15.00', on_demand_price: '18.00' },
    { product: 'logs', quantity: '100.5', committed_price: '0.10', on_demand_price: '0.127' },
    { product: 'spans', quantity: '1', committed_price: '0.05', on_demand_price: '0.07' },
    { product: 'unused', quantity: '7', committed_price: '3.33', on_demand_price: '4' },
  ];
  const TAGS = ['team:web', 'team:data', 'team:', 'env:prod', 'env:dev', 'service:api'];
  const KEYS = ['team', 'env'];

  async function scenario(seed: number, month: string, timezone: string, hours: number, drop = '1') {
    const accountId = 'ref';
    await db.raw('TRUNCATE accounts, ingest_batches, usage_facts, tag_sets CASCADE');
    await applyAccountSpec(
      db,
      parseSpec({
        account: { id: accountId, name: 'Ref', timezone, p99_drop_percent: drop },
        orgs: ORGS,
        products: PRODUCTS,
        commitments: COMMITMENTS,
        attribution: { tag_keys: KEYS },
      }),
      { asOfMs: TEST_AS_OF },
    );
    const { rows } = await db.raw(`SELECT (CAST(? AS date))::timestamp AT TIME ZONE ? AS s`, [
      `${month}-01`,
      timezone,
    ]);
    const start = (rows[0] as { s: Date }).s.getTime();
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
    const usage: RefInput['usage'] = [];
    const lines: string[] = [];
    const add = (org: string, product: string, hour: number, value: string, tags: string[]) => {
      lines.push(rec(new Date(start + hour * 3_600_000).toISOString(), org, product, value, tags));
      const norm = normalizeTagSet(tags);
      if (!norm.ok) throw new Error('bad tags');
      usage.push({ org, product, hour, cells: cellsFor(norm.tags, KEYS), value });
    };
    const value = () => `${Math.floor(rand() * 50)}.${String(Math.floor(rand() * 1000)).padStart(3, '0')}`;
    // Dense hosts and spans series for two orgs (p99 rank and hourly allotment), sparse everything else.
    for (const org of ['ref-a', 'ref-trial']) {
      for (let h = 0; h < hours; h++) {
        if (rand() < 0.9) add(org, 'hosts', h, String(Math.floor(rand() * 6)), [pick(TAGS)]);
        if (rand() < 0.5) add(org, 'spans', h, value(), [pick(TAGS), pick(TAGS)]);
      }
    }
    for (let i = 0; i < 400; i++) {
      const product = pick(PRODUCTS.filter((p) => p.code !== 'unused')).code;
      add(
        pick(ORGS).id,
        product,
        Math.floor(rand() * hours),
        value(),
        TAGS.filter(() => rand() < 0.3),
      );
    }
    await ingest(lines);
    await attributeMonth(accountId, month);
    const r = await closeMonth(db, { accountId, month, asOf: AFTER });
    if (r.outcome !== 'created') throw new Error(`close: ${r.outcome}`);
    const expected = referenceClose({
      accountId,
      orgs: ORGS.map((o) => ({ id: o.id, name: o.name, billable: !('billable' in o) })),
      products: PRODUCTS.map((p) => ({ ...p })),
      commitments: COMMITMENTS,
      hours,
      dropPercent: drop,
      usage,
      tagKeyCount: KEYS.length,
    });
    const actual = await stored(accountId, month, r.version);
    const keys = (rows: Row[]) => Object.keys(rows[0] as Row);
    expect(canon(actual.totals, keys(expected.totals))).toEqual(
      canon(expected.totals, keys(expected.totals)),
    );
    expect(canon(actual.by_org, keys(expected.by_org))).toEqual(
      canon(expected.by_org, keys(expected.by_org)),
    );
    expect(canon(actual.by_tag, keys(expected.by_tag))).toEqual(
      canon(expected.by_tag, keys(expected.by_tag)),
    );
    return { hours: (await db('month_end_versions').where({ account_id: accountId }).first()).hours };
  }

  it.each([1, 2, 3])('February 2026, UTC, seed %i', async (seed) => {
    expect(await scenario(seed, '2026-02', 'UTC', 672)).toEqual({ hours: 672 });
  });
  it('March 2026 in New York has 743 hours (DST starts); p99 takes the 8th highest', async () => {
    expect(await scenario(4, '2026-03', 'America/New_York', 743)).toEqual({ hours: 743 });
  });
  it('November 2025 in New York has 721 hours (DST ends), with a 2 % p99 rule', async () => {
    expect(await scenario(5, '2025-11', 'America/New_York', 721, '2')).toEqual({ hours: 721 });
  });
});

describe('versions', () => {
  const accountId = 'ver';
  beforeAll(async () => {
    await applyAccountSpec(
      db,
      parseSpec({
        account: { id: accountId, name: 'Versions', lateness: '48h' },
        orgs: [
          { id: accountId, name: 'Parent' },
          { id: 'ver-a', name: 'A', parent: accountId },
        ],
        products: [{ code: 'logs', unit: 'GB', aggregation: 'sum' }],
        commitments: [{ product: 'logs', quantity: 10, committed_price: '1', on_demand_price: '2' }],
        attribution: { tag_keys: ['team'] },
      }),
      { asOfMs: TEST_AS_OF },
    );
    await ingest([rec('2026-10-05T10:00:00Z', 'ver-a', 'logs', 12, ['team:web'])]);
  });

  it('is incomplete until every day is attributed', async () => {
    const r = await closeMonth(db, { accountId, month: '2026-10', asOf: AFTER });
    expect(r).toMatchObject({ outcome: 'incomplete' });
    expect(r.outcome === 'incomplete' && r.days.length).toBe(31);
    expect(await db('month_end_versions').where({ account_id: accountId })).toEqual([]);
  });

  it('provisional inside the lateness window, final after it, without a new version', async () => {
    await attributeMonth(accountId, '2026-10');
    const early = await closeMonth(db, { accountId, month: '2026-10', asOf: '2026-11-02T05:30:00Z' });
    expect(early).toMatchObject({
      outcome: 'created',
      version: 1,
      status: 'provisional',
      dataCompleteThrough: '2026-10-31T05:00:00.000Z',
    });
    const later = await closeMonth(db, { accountId, month: '2026-10', asOf: AFTER });
    expect(later).toMatchObject({
      outcome: 'finalized',
      version: 1,
      status: 'final',
      dataCompleteThrough: '2026-11-01T00:00:00.000Z',
      checksum: early.outcome !== 'incomplete' ? early.checksum : '',
    });
    const again = await closeMonth(db, { accountId, month: '2026-10', asOf: AFTER });
    expect(again).toMatchObject({ outcome: 'unchanged', version: 1 });
    expect(await db('month_end_versions').where({ account_id: accountId })).toHaveLength(1);
  });

  it('late data makes the month incomplete, then version 2 with what changed', async () => {
    await ingest([rec('2026-10-20T10:00:00Z', 'ver-a', 'logs', 3, ['team:data'])]);
    expect(await closeMonth(db, { accountId, month: '2026-10', asOf: AFTER })).toEqual({
      outcome: 'incomplete',
      days: ['2026-10-20'],
    });
    await attributeMonth(accountId, '2026-10');
    const r = await closeMonth(db, { accountId, month: '2026-10', asOf: AFTER });
    expect(r).toMatchObject({ outcome: 'created', version: 2, previousVersion: 1 });
    const v2 = await db('month_end_versions').where({ account_id: accountId, version: 2 }).first();
    expect(v2.changes).toEqual(
      expect.arrayContaining([
        { usage_type: 'logs', field: 'billable_usage', from: '12', to: '15' },
        { usage_type: 'logs', field: 'on_demand_usage', from: '2', to: '5' },
        { usage_type: 'logs', field: 'total_cost', from: '14.00', to: '20.00' },
        { public_id: 'ver-a', usage_type: 'logs', field: 'total_cost', from: '14.00', to: '20.00' },
      ]),
    );
    const tags = await db('month_end_tags').where({ account_id: accountId, version: 2 }).orderBy('cells');
    expect(tags.map((t) => [t.cells, t.total_cost])).toEqual([
      [['data'], '4.00'],
      [['web'], '16.00'],
    ]);
  });
});
