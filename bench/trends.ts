import type { Knex } from 'knex';
import { applyAccountSpec } from '../db/accounts';
import { computeTrends } from '../db/trends';
import { validateSpec } from '../domain/spec';
import { trendMonths } from '../domain/trends';
import { benchLine, timeIt, type BenchLine } from './lib';

const ACCOUNT = 'bench-trends';
const MONTH = '2026-10';

/**
 * Six closed months of `orgs` × `products` written straight into the month-end tables (one version per month;
 * orgs appear over time, a few stop), so computeTrends reads what a real close leaves behind.
 */
export async function loadTrendsData(
  db: Knex,
  opts: { orgs: number; products: number },
  log: (s: string) => void,
): Promise<{ months: string[] }> {
  const spec = validateSpec({
    account: { id: ACCOUNT, name: 'Bench trends' },
    orgs: [
      { id: ACCOUNT, name: 'Parent' },
      ...Array.from({ length: opts.orgs }, (_, i) => ({
        id: `bt-${i}`,
        name: `Org ${i}`,
        parent: ACCOUNT,
        ...(i % 50 === 0 ? { billable: false } : {}),
      })),
    ],
    products: Array.from({ length: opts.products }, (_, i) => ({
      code: `p${i}`,
      unit: 'u',
      aggregation: 'sum',
    })),
  });
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  await applyAccountSpec(db, spec.spec, { asOfMs: Date.parse('2026-11-28T00:00:00Z') });
  await db('month_end_versions').where({ account_id: ACCOUNT }).delete();
  const months = trendMonths(MONTH);
  const started = Date.now();
  await db.raw(
    `INSERT INTO month_end_versions (account_id, month, version, status, issued_status, currency, period_start,
       period_end, hours, tag_keys, p99_drop_percent, data_complete_through, as_of, checksum)
     SELECT :account, m::date, 1, 'final', 'final', 'USD', m, m + interval '1 month', 720, '{}', 1,
            m + interval '1 month', now(), md5(m::text)
       FROM unnest(CAST(:months AS date[])) AS m`,
    { account: ACCOUNT, months: months.map((m) => `${m}-01`) },
  );
  // org i exists from month (i % 7) on (i % 7 = 6: not yet), every 40th org stops after three months
  await db.raw(
    `INSERT INTO month_end_orgs (account_id, month, version, public_id, org_name, billable, usage_type, total_usage,
       billable_usage, committed_usage, on_demand_usage, percentage_in_account, committed_cost, on_demand_cost,
       total_cost)
     SELECT :account, m.month, 1, o.public_id, o.name, o.billable, p.code, v.x, CASE WHEN o.billable THEN v.x ELSE 0 END,
            0, 0, 0, 0, 0, 0
       FROM unnest(CAST(:months AS date[])) WITH ORDINALITY AS m(month, idx)
       JOIN orgs o ON o.account_id = :account AND o.public_id <> :account
       JOIN products p ON p.account_id = :account
       CROSS JOIN LATERAL (SELECT round((1000.0 / (1 + o.id % 97)) * (1 + m.idx * 0.03) * (1 + p.id % 5), 3) AS x) v
      WHERE (o.id % 7) < m.idx AND NOT (o.id % 40 = 0 AND m.idx > 3)`,
    { account: ACCOUNT, months: months.map((m) => `${m}-01`) },
  );
  await db.raw(
    `INSERT INTO month_end_totals (account_id, month, version, usage_type, unit, aggregation, on_demand_mode,
       total_usage, billable_usage, committed_usage, allotment_usage, included_usage, on_demand_usage,
       committed_price, on_demand_price, committed_cost, on_demand_cost, total_cost)
     SELECT :account, o.month, 1, o.usage_type, 'u', 'sum', 'monthly', sum(o.total_usage), sum(o.billable_usage),
            0, 0, 0, 0, 0, 0, 0, 0, 0
       FROM month_end_orgs o WHERE o.account_id = :account GROUP BY o.month, o.usage_type`,
    { account: ACCOUNT },
  );
  const { rows } = await db.raw(`SELECT count(*)::int AS n FROM month_end_orgs WHERE account_id = ?`, [
    ACCOUNT,
  ]);
  log(
    `trends data: ${rows[0].n.toLocaleString('en-US')} org-month rows (${opts.orgs} orgs × ${opts.products} products × 6 months) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return { months };
}

/**
 * computeTrends (read six versions, series, changes and movers in TypeScript, write trends and movers) vs one
 * SQL statement that derives the same series and month-over-month changes with window functions into a scratch
 * table: the floor of reading and writing the same rows.
 */
export async function benchTrends(
  db: Knex,
  data: { months: string[] },
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine> {
  const runs: number[] = [];
  const floors: number[] = [];
  let rows = 0;
  for (let i = 0; i < opts.runs; i++) {
    await db('trend_runs').where({ account_id: ACCOUNT }).delete();
    const ms = await timeIt(async () => {
      rows = (await computeTrends(db, { accountId: ACCOUNT, month: MONTH })).rows;
    });
    await db.raw('DROP TABLE IF EXISTS bench_trends_floor');
    const floorMs = await timeIt(() =>
      db.raw(
        `CREATE TABLE bench_trends_floor AS
         WITH v AS (
           SELECT o.public_id, o.usage_type, view, o.month,
                  CASE view WHEN 'all' THEN o.total_usage ELSE o.billable_usage END AS x
             FROM month_end_orgs o CROSS JOIN (VALUES ('all'), ('billable')) AS w(view)
            WHERE o.account_id = :account AND o.month >= CAST(:first AS date) AND o.month <= CAST(:last AS date)
         ), s AS (
           SELECT public_id, usage_type, view, array_agg(x ORDER BY month) AS vals,
                  (array_agg(x ORDER BY month DESC))[1] AS cur, (array_agg(x ORDER BY month DESC))[2] AS prev
             FROM v GROUP BY public_id, usage_type, view
         )
         SELECT s.*, cur - coalesce(prev, 0) AS mom_abs,
                CASE WHEN coalesce(prev, 0) = 0 THEN NULL ELSE round((cur - prev) * 100 / prev, 1) END AS mom_pct
           FROM s`,
        {
          account: ACCOUNT,
          first: `${data.months[0]}-01`,
          last: `${data.months[data.months.length - 1]}-01`,
        },
      ),
    );
    runs.push(ms);
    floors.push(floorMs);
    opts.log(
      `  run ${i + 1}: computeTrends ${Math.round(ms)} ms (${rows} rows), SQL floor ${Math.round(floorMs)} ms`,
    );
  }
  await db.raw('DROP TABLE IF EXISTS bench_trends_floor');
  return benchLine('trends (6 months → trends + movers)', rows, runs, floors);
}
