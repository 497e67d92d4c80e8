import type { Knex } from 'knex';
import { AVG_SCALE, MONEY_SCALE, PCT_SCALE, QTY_SCALE } from '../domain/billing';

/**
 * The month's figures as set-based SQL into working tables (me_series, me_org, me_totals, me_orgs, me_tags,
 * dropped at commit), under the rules of domain/billing.ts (the reference the tests compare against), and the
 * invariants checked over them before anything is stored. Used by the close and by month-to-date.
 */

/**
 * Largest-remainder share of figure `f` by weight `w` out of `W` (Σ w over `part`), in units of 10^-`s`; ties go
 * to the earlier row by `tie`. With W = 0 the row where `first` holds takes the whole figure.
 */
function share(f: string, s: string, w: string, W: string, part: string, tie: string, first: string): string {
  const u = `((${f}) * power(10::numeric, ${s}))`;
  return `trim_scale(CASE WHEN ${W} = 0 THEN CASE WHEN ${first} THEN ${f} ELSE 0 END
      ELSE round((div(${u} * ${w}, ${W})
        + CASE WHEN row_number() OVER (PARTITION BY ${part} ORDER BY mod(${u} * ${w}, nullif(${W}, 0)) DESC, ${tie})
                 <= ${u} - sum(div(${u} * ${w}, nullif(${W}, 0))) OVER (PARTITION BY ${part}) THEN 1 ELSE 0 END)
        / power(10::numeric, ${s}), ${s}) END)`;
}
const qty = (f: string) => `greatest(${QTY_SCALE}, scale(trim_scale(${f})))`;

const monthOf = (alias?: string) => {
  const a = alias ? `${alias}.` : '';
  return `${a}account_id = :account AND ${a}day >= CAST(:first AS date)
          AND ${a}day < CAST(:first AS date) + interval '1 month'`;
};
export const MONTH_FILTER = monthOf();

/**
 * Each product `pr` with its figures `a` (CTE `agg` by product_id), its commitment `c`, and for an allotment the
 * granting product's figures `ga` and commitment `gc`: the close and the estimates join the same terms.
 */
export const PRODUCT_TERMS = `FROM products pr
         JOIN agg a ON a.product_id = pr.id
         LEFT JOIN commitments c ON c.account_id = pr.account_id AND c.product_code = pr.code
         LEFT JOIN products gp ON gp.account_id = pr.account_id AND gp.code = pr.allotment_per
         LEFT JOIN agg ga ON ga.product_id = gp.id
         LEFT JOIN commitments gc ON gc.account_id = pr.account_id AND gc.product_code = pr.allotment_per`;

export type FigureParams = {
  account: string;
  /** First day of the month, YYYY-MM-01. */
  first: string;
  /** Hours the rules run over (the month's, or those elapsed for month-to-date). */
  hours: number;
  /** Rank the p99 rule takes. */
  k: number;
  /** Hours from here on are left out (month-to-date); the month's end for a close. */
  until: Date;
  /** Hours of the whole month: when `hours` is less, this is month-to-date. */
  monthHours: number;
  /**
   * Every day of the month is attributed and none is pending, checked in this snapshot (a close): the hourly
   * series reads the month's facts by range instead of day by day through the runs.
   */
  allAttributed?: boolean;
};

/**
 * Working tables me_series, me_org, me_totals, me_orgs (dropped at commit): each org's figure per product under
 * the product's rule, the account's figures, and the chargeback by org.
 */
export async function computeOrgFigures(trx: Knex.Transaction, p: FigureParams): Promise<void> {
  // Each org's hourly series, from the facts of the attributed days (a day's facts are the ones it attributed:
  // late data marks it pending, and a close waits for pending days), only for the products whose rule needs the
  // hours (max, p99, last, hourly on-demand; every product for month-to-date). Σ for sum and avg comes from the
  // daily rows, which attribution checked to add up to the hourly ones: half the rows of a month never need
  // grouping by hour.
  const fullMonth = p.hours === p.monthHours;
  const needsHours = `(pr.aggregation IN ('max', 'p99', 'last') OR pr.on_demand_mode = 'hourly' OR NOT :fullMonth)`;
  await trx.raw(
    `CREATE TEMP TABLE me_series ON COMMIT DROP AS
     SELECT f.org_id, f.product_id, f.hour, sum(f.value) AS v
       FROM ${
         p.allAttributed
           ? // a close: every day of the month is attributed and none pending (checked in this snapshot)
             `usage_facts f
      WHERE f.hour >= (SELECT (CAST(:first AS date))::timestamp AT TIME ZONE a.timezone
                         FROM accounts a WHERE a.id = :account)`
           : `attribution_runs r
       JOIN usage_facts f ON f.hour >= r.period_start AND f.hour < r.period_end
      WHERE ${monthOf('r')}`
       } AND f.hour < :until
        AND f.org_id IN (SELECT o.id FROM orgs o WHERE o.account_id = :account)
        AND f.product_id IN (SELECT pr.id FROM products pr WHERE pr.account_id = :account AND ${needsHours})
      GROUP BY f.org_id, f.product_id, f.hour`,
    { ...p, fullMonth },
  );
  await trx.raw('ANALYZE me_series');
  // Org level: the product's rule over the month (missing hours are 0), billable only for billable orgs. The
  // aggregates are hash-friendly (no ordered aggregate sorting the whole series): `last` is the value of the
  // greatest [epoch, value] pair, p99 ranks each group's own small array.
  await trx.raw(
    `CREATE TEMP TABLE me_org ON COMMIT DROP AS
     WITH hourly AS (
       SELECT s.org_id, s.product_id, pr.aggregation, sum(s.v) AS total, max(s.v) AS top,
              (max(ARRAY[extract(epoch FROM s.hour)::numeric, s.v]))[2] AS last_value,
              array_agg(s.v) FILTER (WHERE pr.aggregation = 'p99') AS vals
         FROM me_series s JOIN products pr ON pr.id = s.product_id
        GROUP BY s.org_id, s.product_id, pr.aggregation
     ), daily AS (
       SELECT d.org_id, d.product_id, pr.aggregation, sum(d.total_usage) AS total
         FROM attribution_daily d JOIN products pr ON pr.id = d.product_id
        WHERE ${monthOf('d')} AND :fullMonth AND NOT ${needsHours}
        GROUP BY d.org_id, d.product_id, pr.aggregation
     ), x AS (
       SELECT org_id, product_id, aggregation, total, top, last_value, vals FROM hourly
       UNION ALL
       SELECT org_id, product_id, aggregation, total, NULL, NULL, NULL FROM daily
     )
     SELECT x.org_id, x.product_id, o.public_id, o.name AS org_name, o.billable, r.total_usage,
            CASE WHEN o.billable THEN r.total_usage ELSE 0 END AS billable_usage
       FROM x
       CROSS JOIN LATERAL (SELECT CASE x.aggregation
                WHEN 'sum' THEN x.total
                WHEN 'avg' THEN div(2 * x.total * power(10::numeric, ${AVG_SCALE}) + :hours, 2 * :hours)
                                / power(10::numeric, ${AVG_SCALE})
                WHEN 'max' THEN x.top
                WHEN 'last' THEN x.last_value
                WHEN 'p99' THEN coalesce((SELECT v FROM unnest(x.vals) AS v ORDER BY v DESC
                                           OFFSET CAST(:k AS int) - 1 LIMIT 1), 0)
              END AS total_usage) r
       JOIN orgs o ON o.id = x.org_id`,
    { ...p, fullMonth },
  );

  // Account level, for every product of the account (a commitment is due even without usage).
  await trx.raw(
    `CREATE TEMP TABLE me_totals ON COMMIT DROP AS
     WITH agg AS (
       SELECT pr.id AS product_id, coalesce(sum(m.total_usage), 0) AS total_usage,
              coalesce(sum(m.billable_usage), 0) AS billable_usage
         FROM products pr LEFT JOIN me_org m ON m.product_id = pr.id
        WHERE pr.account_id = :account
        GROUP BY pr.id
     ), base AS (
       SELECT pr.id AS product_id, pr.code AS usage_type, pr.unit, pr.aggregation, pr.on_demand_mode,
              a.total_usage, a.billable_usage,
              coalesce(c.quantity, 0) AS committed_usage,
              coalesce(c.committed_price, 0) AS committed_price,
              coalesce(c.on_demand_price, 0) AS on_demand_price,
              CASE WHEN pr.allotment_per IS NULL THEN 0
                   ELSE greatest(coalesce(gc.quantity, 0), coalesce(ga.billable_usage, 0)) * pr.allotment_quantity
              END AS granted
         ${PRODUCT_TERMS}
        WHERE pr.account_id = :account
     ), hourly AS (
       -- hourly mode: only min(billable that hour, allotment per hour) of each hour's allotment can be used
       SELECT b.product_id,
              sum(least(h.v, div(2 * b.granted * 12 * power(10::numeric, ${AVG_SCALE}) + 8760, 2 * 8760)
                             / power(10::numeric, ${AVG_SCALE}))) AS usable
         FROM base b
         JOIN (SELECT s.product_id, s.hour, sum(s.v) AS v
                 FROM me_series s JOIN orgs o ON o.id = s.org_id AND o.billable
                WHERE s.product_id IN (SELECT pr.id FROM products pr
                                        WHERE pr.account_id = :account AND pr.on_demand_mode = 'hourly')
                GROUP BY s.product_id, s.hour) h ON h.product_id = b.product_id
        WHERE b.on_demand_mode = 'hourly'
        GROUP BY b.product_id
     ), figures AS (
       SELECT b.*,
              CASE WHEN b.on_demand_mode = 'hourly' THEN coalesce(hr.usable, 0) ELSE b.granted END
                AS allotment_usage
         FROM base b LEFT JOIN hourly hr ON hr.product_id = b.product_id
     )
     SELECT f.product_id, f.usage_type, f.unit, f.aggregation, f.on_demand_mode,
            trim_scale(f.total_usage) AS total_usage, trim_scale(f.billable_usage) AS billable_usage,
            trim_scale(f.committed_usage) AS committed_usage, trim_scale(f.allotment_usage) AS allotment_usage,
            trim_scale(f.committed_usage + f.allotment_usage) AS included_usage,
            trim_scale(greatest(0, f.billable_usage - f.committed_usage - f.allotment_usage)) AS on_demand_usage,
            f.committed_price, f.on_demand_price,
            round(f.committed_usage * f.committed_price, ${MONEY_SCALE}) AS committed_cost,
            round(greatest(0, f.billable_usage - f.committed_usage - f.allotment_usage) * f.on_demand_price,
                  ${MONEY_SCALE}) AS on_demand_cost
       FROM figures f`,
    p,
  );
  // A commitment with no billable usage at all is charged to the parent's own org.
  await trx.raw(
    `INSERT INTO me_org (org_id, product_id, public_id, org_name, billable, total_usage, billable_usage)
     SELECT o.id, t.product_id, o.public_id, o.name, o.billable, 0, 0
       FROM me_totals t JOIN orgs o ON o.account_id = :account AND o.public_id = :account
      WHERE t.billable_usage = 0 AND t.committed_cost + t.on_demand_cost > 0
        AND NOT EXISTS (SELECT 1 FROM me_org m WHERE m.org_id = o.id AND m.product_id = t.product_id)`,
    p,
  );
  // Chargeback: each org's share of the account's billable usage (percentages: of all usage).
  const orgPart = 'm.product_id';
  const orgTie = 'm.public_id COLLATE "C"';
  const parentFirst = 'm.public_id = :account';
  await trx.raw(
    `CREATE TEMP TABLE me_orgs ON COMMIT DROP AS
     SELECT m.org_id, m.product_id, m.public_id, m.org_name, m.billable, t.usage_type,
            trim_scale(m.total_usage) AS total_usage, trim_scale(m.billable_usage) AS billable_usage,
            ${share('least(t.billable_usage, t.included_usage)', qty('least(t.billable_usage, t.included_usage)'), 'm.billable_usage', 't.billable_usage', orgPart, orgTie, parentFirst)} AS committed_usage,
            ${share('t.on_demand_usage', qty('t.on_demand_usage'), 'm.billable_usage', 't.billable_usage', orgPart, orgTie, parentFirst)} AS on_demand_usage,
            ${share(`CASE WHEN t.total_usage > 0 THEN 100 ELSE 0 END`, String(PCT_SCALE), 'm.total_usage', 't.total_usage', orgPart, orgTie, parentFirst)} AS percentage_in_account,
            round(${share('t.committed_cost', String(MONEY_SCALE), 'm.billable_usage', 't.billable_usage', orgPart, orgTie, parentFirst)}, ${MONEY_SCALE}) AS committed_cost,
            round(${share('t.on_demand_cost', String(MONEY_SCALE), 'm.billable_usage', 't.billable_usage', orgPart, orgTie, parentFirst)}, ${MONEY_SCALE}) AS on_demand_cost
       FROM me_org m JOIN me_totals t ON t.product_id = m.product_id`,
    p,
  );
  await trx.raw('ANALYZE me_orgs');
}

/** Working table me_tags: every org figure split over the org's tag rows of the month. */
export async function computeTagFigures(
  trx: Knex.Transaction,
  p: FigureParams,
  tagKeys: string[],
): Promise<void> {
  const monthFilter = MONTH_FILTER;
  // Tag level: the month's tag rows of each org and product, weighted by their summed hourly usage. An org
  // row without any (a parent charged for an unused commitment) gets one untagged row.
  await trx.raw(
    `CREATE TEMP TABLE me_tag_raw ON COMMIT DROP AS
     SELECT org_id, product_id, cells, sum(total_usage) AS raw_usage
       FROM attribution_daily WHERE ${monthFilter}
      GROUP BY org_id, product_id, cells`,
    p,
  );
  await trx.raw(
    `INSERT INTO me_tag_raw (org_id, product_id, cells, raw_usage)
     SELECT m.org_id, m.product_id, array_fill(NULL::text, ARRAY[cardinality(CAST(:keys AS text[]))]), 0
       FROM me_orgs m
      WHERE NOT EXISTS (SELECT 1 FROM me_tag_raw r WHERE r.org_id = m.org_id AND r.product_id = m.product_id)`,
    { ...p, keys: tagKeys },
  );
  const tagPart = 'r.org_id, r.product_id';
  const tagTie = 'r.cells COLLATE "C"';
  const firstTag = 'r.is_first';
  const W = 'r.w_total';
  await trx.raw(
    `CREATE TEMP TABLE me_tags ON COMMIT DROP AS
     SELECT x.*, x.committed_cost + x.on_demand_cost AS total_cost
       FROM (SELECT m.public_id, m.usage_type, r.cells, trim_scale(r.raw_usage) AS raw_usage,
              ${share('m.total_usage', qty('m.total_usage'), 'r.raw_usage', W, tagPart, tagTie, firstTag)} AS total_usage,
              ${share('m.billable_usage', qty('m.billable_usage'), 'r.raw_usage', W, tagPart, tagTie, firstTag)} AS billable_usage,
              ${share('m.committed_usage', qty('m.committed_usage'), 'r.raw_usage', W, tagPart, tagTie, firstTag)} AS committed_usage,
              ${share('m.on_demand_usage', qty('m.on_demand_usage'), 'r.raw_usage', W, tagPart, tagTie, firstTag)} AS on_demand_usage,
              ${share(`CASE WHEN ${W} > 0 THEN 100 ELSE 0 END`, String(PCT_SCALE), 'r.raw_usage', W, tagPart, tagTie, firstTag)} AS percentage_in_org,
              ${share('m.percentage_in_account', String(PCT_SCALE), 'r.raw_usage', W, tagPart, tagTie, firstTag)} AS percentage_in_account,
              round(${share('m.committed_cost', String(MONEY_SCALE), 'r.raw_usage', W, tagPart, tagTie, firstTag)}, ${MONEY_SCALE}) AS committed_cost,
              round(${share('m.on_demand_cost', String(MONEY_SCALE), 'r.raw_usage', W, tagPart, tagTie, firstTag)}, ${MONEY_SCALE}) AS on_demand_cost
              FROM (SELECT t.*, sum(t.raw_usage) OVER (PARTITION BY t.org_id, t.product_id) AS w_total,
                           row_number() OVER (PARTITION BY t.org_id, t.product_id ORDER BY t.cells COLLATE "C") = 1
                             AS is_first
                      FROM me_tag_raw t) r
              JOIN me_orgs m ON m.org_id = r.org_id AND m.product_id = r.product_id) x`,
    p,
  );
}

/**
 * The invariants over the close's working tables, checked before anything is stored: Σ tag rows = org figure,
 * Σ orgs = account figure, min(billable, included) + on-demand = billable, percentages add up to 100.
 */
export async function invariantViolations(trx: Knex.Transaction): Promise<string[]> {
  const F = [
    'total_usage',
    'billable_usage',
    'committed_usage',
    'on_demand_usage',
    'committed_cost',
    'on_demand_cost',
  ];
  const tagSums = F.map((f) => `sum(t.${f}) AS ${f}`).join(', ');
  const tagOff = F.map((f) => `g.${f} <> m.${f}`).join(' OR ');
  const orgSums = F.map((f) => `sum(m.${f}) AS ${f}`).join(', ');
  const { rows } = await trx.raw(`
    SELECT 'tags of ' || m.public_id || '/' || m.usage_type || ' ≠ org' AS v
      FROM (SELECT t.public_id, t.usage_type, ${tagSums}, sum(t.percentage_in_org) AS pct
              FROM me_tags t GROUP BY t.public_id, t.usage_type) g
      JOIN me_orgs m ON m.public_id = g.public_id AND m.usage_type = g.usage_type
     WHERE ${tagOff} OR g.pct NOT IN (0, 100)
    UNION ALL
    SELECT 'org rows without tag rows: ' || m.public_id || '/' || m.usage_type
      FROM me_orgs m WHERE NOT EXISTS (SELECT 1 FROM me_tags t WHERE t.public_id = m.public_id AND t.usage_type = m.usage_type)
    UNION ALL
    SELECT 'orgs of ' || t.usage_type || ' ≠ account'
      FROM me_totals t
      LEFT JOIN (SELECT m.usage_type, ${orgSums}, sum(m.percentage_in_account) AS pct
                   FROM me_orgs m GROUP BY m.usage_type) g ON g.usage_type = t.usage_type
     WHERE coalesce(g.total_usage, 0) <> t.total_usage OR coalesce(g.billable_usage, 0) <> t.billable_usage
        OR coalesce(g.committed_usage, 0) <> least(t.billable_usage, t.included_usage)
        OR coalesce(g.on_demand_usage, 0) <> t.on_demand_usage
        OR coalesce(g.committed_cost, 0) <> t.committed_cost OR coalesce(g.on_demand_cost, 0) <> t.on_demand_cost
        OR coalesce(g.pct, 0) <> CASE WHEN t.total_usage > 0 THEN 100 ELSE 0 END
    UNION ALL
    SELECT 'covered + on-demand ≠ billable for ' || t.usage_type
      FROM me_totals t WHERE least(t.billable_usage, t.included_usage) + t.on_demand_usage <> t.billable_usage`);
  return (rows as { v: string }[]).map((r) => r.v);
}
