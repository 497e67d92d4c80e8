import type { Knex } from 'knex';
import type { AlertRuleSpec } from '../domain/spec';

/**
 * The Estimated usage page's reads: which months have stored estimates, the runs of a month per product for
 * the account (every run: estimate_totals keeps them all) or for one org (estimate_orgs keeps the latest run
 * of each UTC day only), and the threshold rules to draw over them.
 */

/** Months with at least one stored estimate run, newest first. */
export async function estimateMonths(db: Knex, accountId: string): Promise<string[]> {
  const { rows } = await db.raw(
    `SELECT DISTINCT to_char(month, 'YYYY-MM') AS month FROM estimate_runs WHERE account_id = ?
      ORDER BY month DESC`,
    [accountId],
  );
  return rows.map((r: { month: string }) => r.month);
}

export interface SeriesPoint {
  as_of: string;
  hours_elapsed: number;
  month_hours: number;
  usage_type: string;
  unit: string;
  mtd: string;
  projected: string;
  /** The account's included quantity (commitment + allotment); null in an org's series. */
  included: string | null;
}

const toPoints = (rows: (Omit<SeriesPoint, 'as_of'> & { as_of: Date })[]): SeriesPoint[] =>
  rows.map((r) => ({ ...r, as_of: new Date(r.as_of).toISOString() }));

/**
 * Every run of the month, per product: the account's billable month-to-date and projected usage (what account
 * alert rules measure and the included quantity is set against) and the included quantity.
 */
export async function accountEstimateSeries(
  db: Knex,
  accountId: string,
  month: string,
): Promise<SeriesPoint[]> {
  const { rows } = await db.raw(
    `SELECT r.as_of, r.hours_elapsed, r.month_hours, t.usage_type, t.unit,
            t.mtd_billable::text AS mtd, t.projected_billable::text AS projected, t.included_usage::text AS included
       FROM estimate_runs r JOIN estimate_totals t ON t.account_id = r.account_id AND t.as_of = r.as_of
      WHERE r.account_id = ? AND r.month = CAST(? AS date)
      ORDER BY t.usage_type COLLATE "C", r.as_of`,
    [accountId, `${month}-01`],
  );
  return toPoints(rows);
}

/** The runs of the month that kept org rows (the last of each UTC day), per product, for one org alone. */
export async function orgEstimateSeries(
  db: Knex,
  accountId: string,
  month: string,
  publicId: string,
): Promise<SeriesPoint[]> {
  const { rows } = await db.raw(
    `SELECT r.as_of, r.hours_elapsed, r.month_hours, e.usage_type, t.unit,
            e.mtd_usage::text AS mtd, e.projected_usage::text AS projected, NULL AS included
       FROM estimate_runs r
       JOIN estimate_orgs e ON e.account_id = r.account_id AND e.as_of = r.as_of
       JOIN estimate_totals t ON t.account_id = r.account_id AND t.as_of = r.as_of AND t.usage_type = e.usage_type
      WHERE r.account_id = ? AND r.month = CAST(? AS date) AND e.public_id = ?
      ORDER BY e.usage_type COLLATE "C", r.as_of`,
    [accountId, `${month}-01`, publicId],
  );
  return toPoints(rows);
}

export type ThresholdRuleSpec = Extract<AlertRuleSpec, { kind: 'threshold' }>;

/** The account's threshold rules, as the spec states them (the caller keeps those its scope may see). */
export async function thresholdRules(db: Knex, accountId: string): Promise<ThresholdRuleSpec[]> {
  return (await db('alert_rules')
    .where({ account_id: accountId, kind: 'threshold' })
    .orderByRaw('rule_id COLLATE "C"')
    .pluck('definition')) as ThresholdRuleSpec[];
}
