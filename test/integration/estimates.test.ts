import type { Knex } from 'knex';
import { Readable } from 'node:stream';
import { applyAccountSpec } from '../../db/accounts';
import { attributeDay } from '../../db/attribution';
import { computeEstimates } from '../../db/estimates';
import { estimateErrors, estimateReport } from '../../db/estimate-reads';
import { refreshRollup } from '../../db/usage-rollup';
import { ingestStream } from '../../activities/ingest-file';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { monthToDate } from '../../db/month-to-date';
import { dec, divRound, mul, sub, text } from '../../domain/exact';
import { sampleUsage } from '../../scripts/lib/sample-data';
import { cloneTestDatabase } from '../support/db';
import { exampleSpecJson, parseSpec, rec, TEST_AS_OF } from '../support/fixtures';

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => ({ db, drop } = await cloneTestDatabase()));
afterAll(async () => drop());

const AS_OF_LATE = '2026-11-28T00:00:00Z';
// March 2026 in New York: starts 05:00Z, 743 hours (the spring-forward day has 23).
const MARCH_START = Date.parse('2026-03-01T05:00:00Z');
const MARCH_END = Date.parse('2026-04-01T04:00:00Z');

async function ingest(source: string, lines: string[], replace = false) {
  return ingestStream(db, {
    source,
    stream: Readable.from(lines.map((l) => `${l}\n`)),
    format: 'ndjson',
    asOfMs: Date.parse(AS_OF_LATE),
    retentionDays: 400,
    ...(replace ? { replace } : {}),
  });
}

const orgRows = async (asOf: string) =>
  (await estimateReport(db, 'acme', asOf))?.orgs
    .filter((o) => dec(o.mtd_usage).n !== 0n)
    .map((o) => [o.public_id, o.usage_type, o.mtd_usage]) ?? [];

describe('usage estimates against the month-end and month-to-date figures', () => {
  beforeAll(async () => {
    const spec = exampleSpecJson() as { account: Record<string, unknown> };
    spec.account.timezone = 'America/New_York';
    await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
    const lines = Array.from(sampleUsage({ fromMs: MARCH_START, toMs: MARCH_END }), (r) => JSON.stringify(r));
    expect((await ingest('march.ndjson', lines)).quarantined).toBe(0);
    for (const day of (await monthDays(db, 'acme', '2026-03')).toAttribute)
      await attributeDay(db, { accountId: 'acme', day });
    expect(await closeMonth(db, { accountId: 'acme', month: '2026-03', asOf: AS_OF_LATE })).toMatchObject({
      outcome: 'created',
      status: 'final',
    });
  }, 120_000);

  it('rolls up each batch once', async () => {
    expect(await refreshRollup(db)).toMatchObject({ batches: 1, hours: 743 });
    expect(await refreshRollup(db)).toEqual({ batches: 0, hours: 0, days: 0 });
    const { rows } = await db.raw(
      `SELECT (SELECT sum(value) FROM usage_facts)::text AS facts, (SELECT sum(total) FROM usage_hourly)::text AS hourly,
              (SELECT sum(total) FROM usage_daily)::text AS daily`,
    );
    expect(rows[0].hourly).toBe(rows[0].facts);
    expect(rows[0].daily).toBe(rows[0].facts);
  });

  it('at the end of the month every figure equals the closed month (743 h, p99, avg, last, allotment)', async () => {
    const r = await computeEstimates(db, 'acme', '2026-04-01T04:00:00Z');
    expect(r).toMatchObject({
      month: '2026-03',
      hoursElapsed: 743,
      monthHours: 743,
      orgRows: expect.any(Number),
    });
    const { rows: diff } = await db.raw(
      `SELECT coalesce(e.public_id, m.public_id) AS org, coalesce(e.usage_type, m.usage_type) AS product,
              e.mtd_usage::text AS estimate, m.total_usage::text AS close
         FROM (SELECT * FROM estimate_orgs WHERE account_id = 'acme' AND as_of = '2026-04-01T04:00:00Z') e
         FULL JOIN (SELECT * FROM month_end_orgs WHERE account_id = 'acme' AND month = '2026-03-01' AND version = 1) m
           ON m.public_id = e.public_id AND m.usage_type = e.usage_type
        WHERE coalesce(e.mtd_usage, 0) <> coalesce(m.total_usage, 0)
           OR coalesce(e.projected_usage, 0) <> coalesce(m.total_usage, 0)`,
    );
    expect(diff).toEqual([]);
    const { rows: totals } = await db.raw(
      `SELECT e.usage_type FROM estimate_totals e
         JOIN month_end_totals m ON m.account_id = e.account_id AND m.month = '2026-03-01' AND m.version = 1
          AND m.usage_type = e.usage_type
        WHERE e.as_of = '2026-04-01T04:00:00Z'
          AND (e.mtd_billable <> m.billable_usage OR e.projected_billable <> m.billable_usage
               OR e.included_usage <> m.included_usage OR e.projected_on_demand <> m.on_demand_usage
               OR e.projected_on_demand_cost <> m.on_demand_cost)`,
    );
    expect(totals).toEqual([]);
    expect(
      Number((await db('estimate_totals').where({ as_of: '2026-04-01T04:00:00Z' }).count({ n: '*' }))[0]?.n),
    ).toBe(10);
  });

  it.each(['2026-03-08T04:00:00Z', '2026-03-08T12:00:00Z', '2026-03-17T20:00:00Z'])(
    'mid-month at %s: month-to-date equals the close rules over the elapsed hours; sums extrapolate',
    async (asOf) => {
      const r = await computeEstimates(db, 'acme', asOf);
      const mtd = await monthToDate(db, { accountId: 'acme', month: '2026-03', asOf });
      expect(r.hoursElapsed).toBe(mtd.hours);
      const expected = mtd.orgs
        .filter((o) => dec(o.total_usage).n !== 0n)
        .map((o) => [o.public_id, o.usage_type, o.total_usage]);
      expect(await orgRows(asOf)).toEqual(expected);
      const report = await estimateReport(db, 'acme', asOf);
      for (const t of report?.totals ?? []) {
        if (t.aggregation === 'sum') {
          expect(t.method).toBe('extrapolated');
          // projected = Σ over orgs of round(mtd × 743 / elapsed, 6)
          const orgs = report?.orgs.filter((o) => o.usage_type === t.usage_type && o.billable) ?? [];
          const sum = orgs.reduce(
            (a, o) => a + divRound(mul(dec(o.mtd_usage), dec(743)), dec(r.hoursElapsed), 6).n,
            0n,
          );
          expect(dec(t.projected_billable)).toEqual(dec(text({ n: sum, s: 6 })));
        } else {
          expect(t.method).toBe('so_far');
          expect(t.projected_billable).toBe(t.mtd_billable);
        }
      }
    },
  );

  it('reports the error of the stored estimates against the final month-end figure', async () => {
    const r = await estimateErrors(db, 'acme', '2026-03');
    expect(r.version).toBe(1);
    expect(r.rows).toHaveLength(10);
    const hosts = r.rows.find((x) => x.usage_type === 'logs_ingested_bytes');
    expect(hosts?.points.map((p) => p.elapsed_percent)).toEqual([
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
      100,
    ]);
    const last = hosts?.points[3];
    expect(last?.error_percent).toBe('0.0');
    expect(last?.projected_billable).toBe(hosts?.final_billable);
  });
  it('late and replaced data move only the hours they touch', async () => {
    const asOf = '2026-03-17T20:00:00Z';
    const before = await orgRows(asOf);
    await ingest('late.ndjson', [
      rec('2026-03-10T15:00:00Z', 'client-b', 'logs_ingested_bytes', '100.5', []),
    ]);
    expect(await refreshRollup(db)).toMatchObject({ batches: 1, hours: 1 });
    await computeEstimates(db, 'acme', asOf);
    const after = await orgRows(asOf);
    const changed = after.filter((row, i) => JSON.stringify(row) !== JSON.stringify(before[i]));
    expect(changed.map((c) => [c[0], c[1]])).toEqual([['client-b', 'logs_ingested_bytes']]);
    const cb = (rows: typeof before) =>
      dec(rows.find((b) => b[0] === 'client-b' && b[1] === 'logs_ingested_bytes')?.[2] as string);
    expect(text(sub(cb(after), cb(before)))).toBe('100.5');
    // A replacing batch for that key and hour takes the place of every earlier fact there.
    await ingest(
      'replace.ndjson',
      [rec('2026-03-10T15:00:00Z', 'client-b', 'logs_ingested_bytes', '1', [])],
      true,
    );
    expect(await refreshRollup(db)).toMatchObject({ batches: 1, hours: 1 });
    const { rows } = await db.raw(
      `SELECT total::text FROM usage_hourly h JOIN orgs o ON o.id = h.org_id JOIN products p ON p.id = h.product_id
        WHERE o.public_id = 'client-b' AND p.code = 'logs_ingested_bytes' AND h.hour = '2026-03-10T15:00:00Z'`,
    );
    expect(rows).toEqual([{ total: '1' }]);
  });
});
