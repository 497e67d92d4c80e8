import type { Knex } from 'knex';
import { AVG_SCALE, MONEY_SCALE, p99Rank, QTY_SCALE } from '../domain/billing';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { PRODUCT_TERMS } from './month-figures';

/**
 * Owner of estimate_runs, estimate_totals, estimate_orgs: the month-to-date and projected figures of an hour, read
 * from the rollups of db/usage-rollup.ts (≤ 31 daily rows per org × product plus the hours of the current day).
 */

export interface EstimatePeriod {
  accountId: string;
  /** The hour the estimate is made at (data of earlier hours only). */
  asOf: Date;
  /** YYYY-MM-01: the month containing the hour before asOf, in the account's zone. */
  month: string;
  monthStart: Date;
  monthEnd: Date;
  monthHours: number;
  hoursElapsed: number;
  /** The first day of the month, and the day asOf falls in (its hours before asOf come from usage_hourly). */
  firstDay: string;
  asOfDay: string;
  asOfDayStart: Date;
  dataCompleteThrough: Date;
  p99DropPercent: string;
  timezone: string;
  latenessHours: number;
}

export async function estimatePeriod(
  db: Knex,
  accountId: string,
  asOfInput: string,
): Promise<EstimatePeriod> {
  const at = new Date(asOfInput);
  if (Number.isNaN(at.getTime())) throw new OrgtallyError(ErrorType.InvalidInput, `as-of "${asOfInput}"`);
  const account = await db('accounts')
    .where({ id: accountId })
    .first('timezone', 'lateness_hours', 'p99_drop_percent');
  if (!account) throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${accountId}"`);
  const { rows } = await db.raw(
    `WITH t AS (SELECT date_trunc('hour', CAST(:at AS timestamptz)) AS as_of),
          m AS (SELECT t.as_of, date_trunc('month', (t.as_of - interval '1 hour') AT TIME ZONE :tz) AS local_start
                  FROM t)
     SELECT m.as_of, to_char(m.local_start, 'YYYY-MM-DD') AS month,
            m.local_start AT TIME ZONE :tz AS month_start,
            (m.local_start + interval '1 month') AT TIME ZONE :tz AS month_end,
            (m.as_of AT TIME ZONE :tz)::date::text AS as_of_day,
            ((m.as_of AT TIME ZONE :tz)::date)::timestamp AT TIME ZONE :tz AS as_of_day_start,
            m.as_of - make_interval(hours => :lateness) AS complete_through
       FROM m`,
    { at: at.toISOString(), tz: account.timezone, lateness: account.lateness_hours },
  );
  const r = rows[0] as {
    as_of: Date;
    month: string;
    month_start: Date;
    month_end: Date;
    as_of_day: string;
    as_of_day_start: Date;
    complete_through: Date;
  };
  const h = (a: Date, b: Date) => Math.round((b.getTime() - a.getTime()) / 3_600_000);
  return {
    accountId,
    asOf: r.as_of,
    month: r.month,
    monthStart: r.month_start,
    monthEnd: r.month_end,
    monthHours: h(r.month_start, r.month_end),
    hoursElapsed: Math.max(1, h(r.month_start, r.as_of)),
    firstDay: r.month,
    asOfDay: r.as_of_day,
    asOfDayStart: r.as_of_day_start,
    dataCompleteThrough: new Date(Math.max(r.month_start.getTime(), r.complete_through.getTime())),
    p99DropPercent: account.p99_drop_percent,
    timezone: account.timezone,
    latenessHours: account.lateness_hours,
  };
}

/**
 * SQL creating temp table `est_org` (org_id, product_id, mtd, projected, method) for the period: each org's
 * month-to-date figure under the product's rule over the hours elapsed (missing hours count as 0), and the
 * projection: sum extrapolated by the elapsed fraction; avg / max / p99 / last as they stand so far. Reads the
 * month's full days from `daily` and the hours of asOf's own day from `hourly`; `filter` narrows both (SQL on
 * alias x with org_id, product_id).
 */
export async function orgEstimates(
  trx: Knex.Transaction,
  p: EstimatePeriod,
  opts: {
    daily?: string;
    hourly?: string;
    table?: string;
    filter?: string;
    bindings?: Record<string, unknown>;
  } = {},
): Promise<void> {
  const daily = opts.daily ?? 'usage_daily';
  const hourly = opts.hourly ?? 'usage_hourly';
  const table = opts.table ?? 'est_org';
  const filter = opts.filter ?? 'true';
  const k = p99Rank(p.hoursElapsed, p.p99DropPercent);
  await trx.raw(
    `CREATE TEMP TABLE ${table} ON COMMIT DROP AS
     WITH x AS (
       SELECT org_id, product_id, total, peak, last_hour, last_value, top
         FROM ${daily} x
        WHERE x.account_id = :account AND x.day >= CAST(:firstDay AS date) AND x.day < CAST(:asOfDay AS date)
          AND ${filter}
       UNION ALL
       SELECT org_id, product_id, sum(total), max(total), max(hour),
              (max(ARRAY[extract(epoch FROM hour)::numeric, total]))[2],
              (array_agg(total ORDER BY total DESC))[1:CAST(:k AS int)]
         FROM ${hourly} x
        WHERE x.account_id = :account AND x.hour >= greatest(CAST(:dayStart AS timestamptz), CAST(:monthStart AS timestamptz))
          AND x.hour < CAST(:asOf AS timestamptz) AND ${filter}
        GROUP BY org_id, product_id
     ), g AS (
       SELECT x.org_id, x.product_id, pr.aggregation, sum(x.total) AS total, max(x.peak) AS peak,
              (max(ARRAY[extract(epoch FROM x.last_hour)::numeric, x.last_value]))[2] AS last_value
         FROM x JOIN products pr ON pr.id = x.product_id
        GROUP BY x.org_id, x.product_id, pr.aggregation
     ), ranked AS (
       SELECT org_id, product_id, v FROM (
         SELECT x.org_id, x.product_id, v,
                row_number() OVER (PARTITION BY x.org_id, x.product_id ORDER BY v DESC) AS rn
           FROM x JOIN products pr ON pr.id = x.product_id AND pr.aggregation = 'p99'
           CROSS JOIN LATERAL unnest(x.top) AS v) t
        WHERE rn = CAST(:k AS int)
     ), f AS (
       SELECT g.org_id, g.product_id, g.aggregation, g.total,
              CASE g.aggregation
                WHEN 'sum' THEN g.total
                WHEN 'avg' THEN div(2 * g.total * power(10::numeric, ${AVG_SCALE}) + :hours, 2 * :hours)
                                / power(10::numeric, ${AVG_SCALE})
                WHEN 'max' THEN g.peak
                WHEN 'last' THEN g.last_value
                WHEN 'p99' THEN coalesce(r.v, 0)
              END AS mtd
         FROM g LEFT JOIN ranked r ON r.org_id = g.org_id AND r.product_id = g.product_id
     )
     SELECT f.org_id, f.product_id, trim_scale(f.mtd) AS mtd,
            trim_scale(CASE WHEN f.aggregation = 'sum'
                 THEN round(f.mtd * :monthHours / :hours, greatest(${QTY_SCALE}, scale(trim_scale(f.mtd))))
                 ELSE f.mtd END) AS projected,
            CASE WHEN f.aggregation = 'sum' THEN 'extrapolated' ELSE 'so_far' END AS method
       FROM f`,
    {
      account: p.accountId,
      firstDay: p.firstDay,
      asOfDay: p.asOfDay,
      dayStart: p.asOfDayStart,
      monthStart: p.monthStart,
      asOf: p.asOf,
      hours: p.hoursElapsed,
      monthHours: p.monthHours,
      k,
      ...opts.bindings,
    },
  );
}

export interface EstimateResult {
  accountId: string;
  asOf: string;
  month: string;
  hoursElapsed: number;
  monthHours: number;
  dataCompleteThrough: string;
  orgRows: number;
  products: number;
}

/**
 * Computes and stores the estimate of the period (one run per account and as-of hour, replaced when computed
 * again): org rows (only the latest run keeps them) and account totals per product with the included quantity
 * and the projected on-demand usage and cost. Call refreshRollup first.
 */
export async function computeEstimates(db: Knex, accountId: string, asOf: string): Promise<EstimateResult> {
  return db.transaction(
    async (trx) => {
      await trx.raw('SET LOCAL jit = off');
      const p = await estimatePeriod(trx, accountId, asOf);
      await orgEstimates(trx, p);
      const key = { account_id: accountId, as_of: p.asOf };
      await trx('estimate_runs').where(key).delete();
      await trx('estimate_runs').insert({
        ...key,
        month: p.month,
        hours_elapsed: p.hoursElapsed,
        month_hours: p.monthHours,
        data_complete_through: p.dataCompleteThrough,
      });
      await trx.raw(
        `INSERT INTO estimate_orgs (account_id, as_of, public_id, org_name, billable, usage_type, mtd_usage,
           projected_usage)
         SELECT :account, :asOf, o.public_id, o.name, o.billable, pr.code, e.mtd, e.projected
           FROM est_org e JOIN orgs o ON o.id = e.org_id JOIN products pr ON pr.id = e.product_id`,
        { account: accountId, asOf: p.asOf },
      );
      // Included = commitment + allotment (the grantor's committed or projected billable usage, whichever is
      // larger, × the per-unit quantity); projected on-demand is what projected billable usage leaves over.
      await trx.raw(
        `INSERT INTO estimate_totals (account_id, as_of, usage_type, unit, aggregation, method, mtd_usage,
           mtd_billable, projected_usage, projected_billable, included_usage, projected_on_demand,
           projected_on_demand_cost)
         WITH agg AS (
           SELECT pr.id AS product_id, coalesce(sum(e.mtd), 0) AS mtd_usage,
                  coalesce(sum(e.mtd) FILTER (WHERE o.billable), 0) AS mtd_billable,
                  coalesce(sum(e.projected), 0) AS projected_usage,
                  coalesce(sum(e.projected) FILTER (WHERE o.billable), 0) AS projected_billable
             FROM products pr
             LEFT JOIN est_org e ON e.product_id = pr.id
             LEFT JOIN orgs o ON o.id = e.org_id
            WHERE pr.account_id = :account
            GROUP BY pr.id
         ), f AS (
           SELECT pr.code, pr.unit, pr.aggregation, a.*,
                  coalesce(c.quantity, 0)
                  + CASE WHEN pr.allotment_per IS NULL THEN 0
                         ELSE greatest(coalesce(gc.quantity, 0), coalesce(ga.projected_billable, 0))
                              * pr.allotment_quantity END AS included,
                  coalesce(c.on_demand_price, 0) AS on_demand_price
             ${PRODUCT_TERMS}
         )
         SELECT :account, :asOf, code, unit, aggregation,
                CASE WHEN aggregation = 'sum' THEN 'extrapolated' ELSE 'so_far' END,
                trim_scale(mtd_usage), trim_scale(mtd_billable), trim_scale(projected_usage),
                trim_scale(projected_billable), trim_scale(included),
                trim_scale(greatest(0, projected_billable - included)),
                round(greatest(0, projected_billable - included) * on_demand_price, ${MONEY_SCALE})
           FROM f`,
        { account: accountId, asOf: p.asOf },
      );
      // Org rows are kept for the latest run of each (UTC) day: 20 000 rows an hour would pile up otherwise.
      await trx.raw(
        `DELETE FROM estimate_orgs e
          WHERE e.account_id = :account
            AND e.as_of >= date_trunc('day', CAST(:asOf AS timestamptz) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            AND e.as_of < (date_trunc('day', CAST(:asOf AS timestamptz) AT TIME ZONE 'UTC') + interval '1 day')
                          AT TIME ZONE 'UTC'
            AND e.as_of < (SELECT max(r.as_of) FROM estimate_runs r
                            WHERE r.account_id = :account
                              AND date_trunc('day', r.as_of AT TIME ZONE 'UTC')
                                  = date_trunc('day', CAST(:asOf AS timestamptz) AT TIME ZONE 'UTC'))`,
        { account: accountId, asOf: p.asOf },
      );
      const orgRows = Number((await trx.raw('SELECT count(*) AS n FROM est_org')).rows[0].n);
      const products = Number(
        (await trx('estimate_totals').where(key).count<{ n: string }[]>({ n: '*' }))[0]?.n ?? 0,
      );
      return {
        accountId,
        asOf: p.asOf.toISOString(),
        month: p.month.slice(0, 7),
        hoursElapsed: p.hoursElapsed,
        monthHours: p.monthHours,
        dataCompleteThrough: p.dataCompleteThrough.toISOString(),
        orgRows,
        products,
      };
    },
    { isolationLevel: 'repeatable read' },
  );
}
