import type { Knex } from 'knex';
import { MONEY_SCALE } from '../domain/billing';

/** The stored estimates as reports read them: a run with its totals and org rows, and the error of a month's runs. */

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

/** Per product, the month's committed cost (quantity × committed price): owed whatever the usage. */
export async function committedCosts(db: Knex, accountId: string): Promise<Map<string, string>> {
  const { rows } = await db.raw(
    `SELECT product_code, round(quantity * committed_price, ${MONEY_SCALE})::text AS cost
       FROM commitments WHERE account_id = ?`,
    [accountId],
  );
  return new Map(rows.map((r: { product_code: string; cost: string }) => [r.product_code, r.cost]));
}

/** Every stored run of a month, oldest first, with each product's month-to-date and projected figures. */
export async function estimateSeries(
  db: Knex,
  accountId: string,
  month: string,
): Promise<{ as_of: string; usage_type: string; mtd_usage: string; projected_usage: string }[]> {
  const { rows } = await db.raw(
    `SELECT r.as_of, t.usage_type, t.mtd_usage::text AS mtd_usage, t.projected_usage::text AS projected_usage
       FROM estimate_runs r JOIN estimate_totals t ON t.account_id = r.account_id AND t.as_of = r.as_of
      WHERE r.account_id = ? AND r.month = ?::date
      ORDER BY r.as_of, t.usage_type COLLATE "C"`,
    [accountId, `${month}-01`],
  );
  return rows.map((r: { as_of: Date }) => ({ ...r, as_of: new Date(r.as_of).toISOString() }));
}
