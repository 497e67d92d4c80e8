import type { Knex } from 'knex';
import { AVG_SCALE, MONEY_SCALE, p99Rank, QTY_SCALE } from '../domain/billing';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { PRODUCT_TERMS } from './month-figures';

/**
 * Owner of usage_hourly, usage_daily, rollup_batches (the rollups estimates and alerts read) and of
 * estimate_runs, estimate_totals, estimate_orgs.
 *
 * Estimates must be cheap every hour, so they never read a month of raw facts: `refreshRollup` recomputes only
 * the hours touched by batches it has not rolled up yet (facts → usage_hourly, then those days → usage_daily),
 * and a month-to-date figure reads ≤ 31 daily rows per org × product plus the hours of the current day.
 */

/** Hours a month can have (31 days + the DST hour): usage_daily keeps enough top values for its p99 rank. */
const MAX_MONTH_HOURS = 745;

export interface RollupResult {
  batches: number;
  hours: number;
  days: number;
}

/**
 * Rolls up every committed batch not rolled up yet. One refresher at a time (advisory lock); READ COMMITTED is
 * right here: each touched hour is recomputed from all facts visible when its statement runs, and a batch
 * that commits meanwhile is rolled up (again) by the next refresh.
 */
export async function refreshRollup(db: Knex): Promise<RollupResult> {
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT pg_advisory_xact_lock(hashtext('orgtally.usage_rollup'))`);
    await trx.raw('SET LOCAL jit = off');
    await trx.raw(
      `CREATE TEMP TABLE ru_batches ON COMMIT DROP AS
       SELECT b.id FROM ingest_batches b
        WHERE NOT EXISTS (SELECT 1 FROM rollup_batches r WHERE r.batch_id = b.id)`,
    );
    const batches = Number((await trx.raw('SELECT count(*) AS n FROM ru_batches')).rows[0].n);
    if (batches === 0) return { batches: 0, hours: 0, days: 0 };
    await trx.raw(
      `CREATE TEMP TABLE ru_hours ON COMMIT DROP AS
       SELECT DISTINCT f.hour FROM usage_facts f WHERE f.batch_id IN (SELECT id FROM ru_batches)`,
    );
    await trx.raw('ANALYZE ru_hours');
    // (account, hour) pairs, so the delete walks the primary key instead of every hourly row
    await trx.raw(
      `DELETE FROM usage_hourly u USING ru_hours h, accounts a WHERE u.account_id = a.id AND u.hour = h.hour`,
    );
    await trx.raw(
      `INSERT INTO usage_hourly (account_id, hour, org_id, product_id, total)
       SELECT o.account_id, f.hour, f.org_id, f.product_id, sum(f.value)
         FROM usage_facts f JOIN orgs o ON o.id = f.org_id
        WHERE f.hour IN (SELECT hour FROM ru_hours)
        GROUP BY o.account_id, f.hour, f.org_id, f.product_id`,
    );
    await trx.raw(
      `CREATE TEMP TABLE ru_days ON COMMIT DROP AS
       SELECT account_id, timezone, day, keep,
              day::timestamp AT TIME ZONE timezone AS day_start,
              (day + 1)::timestamp AT TIME ZONE timezone AS day_end
         FROM (SELECT DISTINCT a.id AS account_id, a.timezone, (h.hour AT TIME ZONE a.timezone)::date AS day,
                      floor(a.p99_drop_percent * ${MAX_MONTH_HOURS} / 100)::int + 1 AS keep
                 FROM ru_hours h CROSS JOIN accounts a) d`,
    );
    await trx.raw('ANALYZE ru_days');
    await trx.raw(
      `DELETE FROM usage_daily d USING ru_days r WHERE d.account_id = r.account_id AND d.day = r.day`,
    );
    await trx.raw(
      `INSERT INTO usage_daily (account_id, day, org_id, product_id, hours, total, peak, last_hour, last_value, top)
       ${dailySql('usage_hourly', 'ru_days')}`,
    );
    const days = Number((await trx.raw('SELECT count(*) AS n FROM ru_days')).rows[0].n);
    const hours = Number((await trx.raw('SELECT count(*) AS n FROM ru_hours')).rows[0].n);
    await trx.raw('INSERT INTO rollup_batches (batch_id) SELECT id FROM ru_batches ON CONFLICT DO NOTHING');
    return { batches, hours, days };
  });
}

/**
 * The daily rows of `days` (account_id, day, keep, day_start, day_end: the day's instants in the account's zone)
 * from an hourly table (account_id, hour, org_id, product_id, total): a range on (account_id, hour) per day. Also
 * used over tag-filtered hourly rows (db/alerts.ts).
 */
export function dailySql(hourly: string, days: string): string {
  return `SELECT u.account_id, r.day, u.org_id, u.product_id, count(*)::int AS hours, sum(u.total) AS total,
                 max(u.total) AS peak, max(u.hour) AS last_hour,
                 (max(ARRAY[extract(epoch FROM u.hour)::numeric, u.total]))[2] AS last_value,
                 (array_agg(u.total ORDER BY u.total DESC))[1:max(r.keep)] AS top
            FROM ${hourly} u
            JOIN ${days} r ON r.account_id = u.account_id
             AND u.hour >= r.day_start AND u.hour < r.day_end
           GROUP BY u.account_id, r.day, u.org_id, u.product_id`;
}

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

export interface EstimateRun {
  as_of: Date;
  month: string;
  hours_elapsed: number;
  month_hours: number;
  data_complete_through: Date;
  computed_at: Date;
}

export interface EstimateTotalRow {
  usage_type: string;
  unit: string;
  aggregation: string;
  method: 'extrapolated' | 'so_far';
  mtd_usage: string;
  mtd_billable: string;
  projected_usage: string;
  projected_billable: string;
  included_usage: string;
  projected_on_demand: string;
  projected_on_demand_cost: string;
}

export interface EstimateOrgRow {
  public_id: string;
  org_name: string;
  billable: boolean;
  usage_type: string;
  mtd_usage: string;
  projected_usage: string;
}

/** The latest run (or the one at `asOf`) with its totals and, when kept, its org rows. */
export async function estimateReport(
  db: Knex,
  accountId: string,
  asOf?: string,
): Promise<{ run: EstimateRun; totals: EstimateTotalRow[]; orgs: EstimateOrgRow[] } | undefined> {
  const run: EstimateRun | undefined = await db('estimate_runs')
    .where({ account_id: accountId })
    .modify((q) => {
      if (asOf) q.where('as_of', db.raw(`date_trunc('hour', CAST(? AS timestamptz))`, [asOf]));
    })
    .orderBy('as_of', 'desc')
    .first(
      'as_of',
      db.raw(`to_char(month, 'YYYY-MM') AS month`),
      'hours_elapsed',
      'month_hours',
      'data_complete_through',
      'computed_at',
    );
  if (!run) return undefined;
  const key = { account_id: accountId, as_of: run.as_of };
  const totals = await db('estimate_totals')
    .where(key)
    .orderByRaw('usage_type COLLATE "C"')
    .select(
      'usage_type',
      'unit',
      'aggregation',
      'method',
      ...[
        'mtd_usage',
        'mtd_billable',
        'projected_usage',
        'projected_billable',
        'included_usage',
        'projected_on_demand',
        'projected_on_demand_cost',
      ].map((c) => db.raw(`${c}::text AS ${c}`)),
    );
  const orgs = await db('estimate_orgs')
    .where(key)
    .orderByRaw('public_id COLLATE "C", usage_type COLLATE "C"')
    .select(
      'public_id',
      'org_name',
      'billable',
      'usage_type',
      db.raw('mtd_usage::text AS mtd_usage'),
      db.raw('projected_usage::text AS projected_usage'),
    );
  return { run, totals, orgs };
}

export interface EstimateErrorRow {
  usage_type: string;
  unit: string;
  /** The final month-end billable usage (latest version). */
  final_billable: string;
  /** The projection at a point of the month: the last run at or before that fraction of the month. */
  /** For each of 25, 50, 75, 100 % of the month that some run was made at or before. */
  points: {
    target_percent: number;
    at: string;
    elapsed_percent: number;
    projected_billable: string;
    error_percent: string | null;
  }[];
}

/**
 * The error of the stored estimates of `month` against the month-end figure: per product, the projection
 * made after 25 %, 50 % and 75 % of the month and the last one, and (projected − final) / final in percent.
 */
export async function estimateErrors(
  db: Knex,
  accountId: string,
  month: string,
): Promise<{ version: number | null; rows: EstimateErrorRow[] }> {
  const v = await db('month_end_versions')
    .where({ account_id: accountId, month: `${month}-01` })
    .orderBy('version', 'desc')
    .first('version');
  if (!v) return { version: null, rows: [] };
  const { rows } = await db.raw(
    `WITH runs AS (
       SELECT as_of, hours_elapsed, month_hours, 100.0 * hours_elapsed / month_hours AS pct
         FROM estimate_runs WHERE account_id = :account AND month = CAST(:first AS date)
     ), points AS (
       SELECT DISTINCT ON (target) target, as_of, pct
         FROM (VALUES (25), (50), (75), (100)) t(target)
         JOIN runs r ON r.pct <= t.target OR t.target = 100
        ORDER BY target, r.as_of DESC
     )
     SELECT m.usage_type, m.unit, m.billable_usage::text AS final_billable,
            json_agg(json_build_object('target_percent', p.target, 'at', p.as_of, 'elapsed_percent', round(p.pct, 1),
                     'projected_billable', e.projected_billable::text,
                     'error_percent', CASE WHEN m.billable_usage = 0 THEN NULL
                        ELSE round(100 * (e.projected_billable - m.billable_usage) / m.billable_usage, 1)::text END)
                     ORDER BY p.target) AS points
       FROM month_end_totals m
       JOIN points p ON true
       JOIN estimate_totals e ON e.account_id = :account AND e.as_of = p.as_of AND e.usage_type = m.usage_type
      WHERE m.account_id = :account AND m.month = CAST(:first AS date) AND m.version = :version
      GROUP BY m.usage_type, m.unit, m.billable_usage
      ORDER BY m.usage_type COLLATE "C"`,
    { account: accountId, first: `${month}-01`, version: v.version },
  );
  return {
    version: v.version,
    rows: (rows as (EstimateErrorRow & { points: { at: string; elapsed_percent: string | number }[] })[]).map(
      (r) => ({
        ...r,
        points: r.points.map((pt) => ({ ...pt, elapsed_percent: Number(pt.elapsed_percent) })),
      }),
    ) as EstimateErrorRow[],
  };
}
