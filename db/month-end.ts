import type { Knex } from 'knex';
import { AVG_SCALE, MONEY_SCALE, p99Rank, PCT_SCALE, QTY_SCALE } from '../domain/billing';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { isMonth } from '../domain/month-end';
import type { SummaryOrgInput, SummaryTotal } from '../domain/usage-summary';

/**
 * Owner of month_end_versions, month_end_totals, month_end_orgs, month_end_tags. The billing rules are those of
 * domain/billing.ts (the reference the tests compare against), run here as set-based SQL over the month's
 * attributed hourly rows.
 */

export interface CloseInput {
  accountId: string;
  /** YYYY-MM, in the account's time zone. */
  month: string;
  /** The instant the close computes for (decides provisional vs final). */
  asOf: string;
}

export interface VersionInfo {
  accountId: string;
  month: string;
  version: number;
  status: 'provisional' | 'final';
  checksum: string;
  dataCompleteThrough: string;
  computedAt: string;
}

export type CloseResult =
  | { outcome: 'incomplete'; days: string[] }
  | (VersionInfo & { outcome: 'created' | 'unchanged' | 'finalized'; previousVersion: number | null });

export interface MonthDays {
  days: string[];
  /** Days never attributed, or marked pending by late or replaced data. */
  toAttribute: string[];
}

const monthStart = (month: string) => `${month}-01`;

function checkMonth(month: string): void {
  if (!isMonth(month)) throw new OrgtallyError(ErrorType.InvalidInput, `month "${month}" is not YYYY-MM`);
}

/** The month's calendar days and those that still need (re-)attribution before the month can close. */
export async function monthDays(db: Knex, accountId: string, month: string): Promise<MonthDays> {
  checkMonth(month);
  const { rows } = await db.raw(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day,
            (r.day IS NULL OR p.day IS NOT NULL) AS to_attribute
       FROM generate_series(CAST(:start AS date), CAST(:start AS date) + interval '1 month' - interval '1 day',
                            interval '1 day') AS d
       LEFT JOIN attribution_runs r ON r.account_id = :account AND r.day = d::date
       LEFT JOIN attribution_pending p ON p.account_id = :account AND p.day = d::date
      ORDER BY d`,
    { account: accountId, start: monthStart(month) },
  );
  const list = rows as { day: string; to_attribute: boolean }[];
  return { days: list.map((r) => r.day), toAttribute: list.filter((r) => r.to_attribute).map((r) => r.day) };
}

interface MonthPeriod {
  /** [start, end) of the month in the account's zone; hours = its real length (743/745 in DST months). */
  start: Date;
  end: Date;
  hours: number;
  /** min(end, as-of to the hour): where month-to-date stops. */
  elapsedEnd: Date;
  /** Data before this is past the lateness window. */
  completeThrough: Date;
  /** Every day of the month is past the lateness window. */
  final: boolean;
  p99DropPercent: string;
}

/** The account's month as instants, for the close and for month-to-date (one place computes them). */
async function monthPeriod(
  trx: Knex.Transaction,
  accountId: string,
  month: string,
  asOf: Date,
): Promise<MonthPeriod> {
  const account = await trx('accounts')
    .where({ id: accountId })
    .first('timezone', 'lateness_hours', 'p99_drop_percent');
  if (!account) throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${accountId}"`);
  const { rows } = await trx.raw(
    `SELECT s AS start, e AS end, (extract(epoch FROM e - s) / 3600)::int AS hours,
            least(e, greatest(s, date_trunc('hour', CAST(:asOf AS timestamptz)))) AS elapsed_end,
            least(e, greatest(s, date_trunc('hour', CAST(:asOf AS timestamptz) - make_interval(hours => :lateness))))
              AS complete_through,
            CAST(:asOf AS timestamptz) >= e + make_interval(hours => :lateness) AS final
       FROM (SELECT (CAST(:start AS date))::timestamp AT TIME ZONE :tz AS s,
                    (CAST(:start AS date) + interval '1 month')::timestamp AT TIME ZONE :tz AS e) b`,
    {
      start: monthStart(month),
      tz: account.timezone,
      asOf: asOf.toISOString(),
      lateness: account.lateness_hours,
    },
  );
  const r = rows[0] as {
    start: Date;
    end: Date;
    hours: number;
    elapsed_end: Date;
    complete_through: Date;
    final: boolean;
  };
  return {
    start: r.start,
    end: r.end,
    hours: r.hours,
    elapsedEnd: r.elapsed_end,
    completeThrough: r.complete_through,
    final: r.final,
    p99DropPercent: account.p99_drop_percent,
  };
}

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

/**
 * Computes the month's figures in one REPEATABLE READ snapshot and stores them as a new version when their
 * checksum differs from the latest version's; otherwise only status and watermark are brought up to date.
 * Returns `incomplete` (writing nothing) when a day of the month is not attributed or has pending late data.
 */
export async function closeMonth(db: Knex, input: CloseInput): Promise<CloseResult> {
  checkMonth(input.month);
  const asOf = new Date(input.asOf);
  if (Number.isNaN(asOf.getTime())) throw new OrgtallyError(ErrorType.InvalidInput, `as-of "${input.asOf}"`);
  return db.transaction(
    async (trx) => {
      // JIT compilation cost seconds per statement on month-sized plans and saved nothing (measured).
      await trx.raw('SET LOCAL jit = off');
      const period = await monthPeriod(trx, input.accountId, input.month, asOf);
      const days = await monthDays(trx, input.accountId, input.month);
      if (days.toAttribute.length) return { outcome: 'incomplete', days: days.toAttribute };

      const { rows: runs } = await trx.raw(
        `SELECT DISTINCT tag_keys FROM attribution_runs
          WHERE account_id = ? AND day >= CAST(? AS date) AND day < CAST(? AS date) + interval '1 month'`,
        [input.accountId, monthStart(input.month), monthStart(input.month)],
      );
      if (runs.length > 1) {
        throw new OrgtallyError(
          ErrorType.InvalidInput,
          `the days of ${input.month} were attributed with different tag keys (${runs
            .map((r: { tag_keys: string[] }) => `[${r.tag_keys.join(', ')}]`)
            .join(' and ')}): restate them with \`orgtally run attribution --restate-tags\` first`,
        );
      }
      const tagKeys: string[] = (runs[0] as { tag_keys: string[] } | undefined)?.tag_keys ?? [];

      const p = {
        account: input.accountId,
        first: monthStart(input.month),
        hours: period.hours,
        k: p99Rank(period.hours, period.p99DropPercent),
        until: period.end,
        monthHours: period.hours,
      };

      await computeOrgFigures(trx, p);
      await computeTagFigures(trx, p, tagKeys);

      const violations = await invariantViolations(trx);
      if (violations.length) {
        throw new OrgtallyError(
          ErrorType.ReconciliationMismatch,
          `month-end ${input.accountId} ${input.month} does not add up: ${violations.slice(0, 5).join('; ')}` +
            (violations.length > 5 ? `; and ${violations.length - 5} more` : ''),
        );
      }

      // The figures' checksum: a re-run over unchanged data computes the same one and writes no version.
      const { rows: sumRows } = await trx.raw(
        `SELECT md5(concat_ws('|', CAST(:keys AS text[])::text, :hours::text,
                  (SELECT string_agg(concat_ws(',', usage_type, total_usage, billable_usage, committed_usage,
                            allotment_usage, included_usage, on_demand_usage, committed_price, on_demand_price,
                            committed_cost, on_demand_cost), ';' ORDER BY usage_type COLLATE "C") FROM me_totals),
                  (SELECT string_agg(concat_ws(',', public_id, org_name, billable, usage_type, total_usage,
                            billable_usage, committed_usage, on_demand_usage, percentage_in_account, committed_cost,
                            on_demand_cost), ';' ORDER BY public_id COLLATE "C", usage_type COLLATE "C") FROM me_orgs),
                  (SELECT md5(string_agg(concat_ws(',', public_id, usage_type, cells::text, raw_usage, total_usage,
                            billable_usage, committed_usage, on_demand_usage, percentage_in_org,
                            percentage_in_account, committed_cost, on_demand_cost), ';'
                            ORDER BY public_id COLLATE "C", usage_type COLLATE "C", cells COLLATE "C")) FROM me_tags)
                )) AS checksum,
                (SELECT max(facts_watermark) FROM attribution_runs WHERE ${MONTH_FILTER}) AS watermark`,
        { ...p, keys: tagKeys },
      );
      const { checksum, watermark } = sumRows[0] as { checksum: string; watermark: string | null };
      const status = period.final ? 'final' : 'provisional';
      const key = { account_id: input.accountId, month: monthStart(input.month) };
      const latest = await trx('month_end_versions')
        .where(key)
        .orderBy('version', 'desc')
        .first('version', 'checksum', 'status');

      if (latest && latest.checksum === checksum) {
        const finalized = latest.status === 'provisional' && status === 'final';
        await trx('month_end_versions')
          .where({ ...key, version: latest.version })
          .update({
            ...(finalized ? { status } : {}),
            data_complete_through: trx.raw('greatest(data_complete_through, ?)', [period.completeThrough]),
            facts_watermark: watermark,
          });
        const info = await versionInfo(trx, input.accountId, input.month, latest.version);
        return { outcome: finalized ? 'finalized' : 'unchanged', previousVersion: null, ...info };
      }

      const version = (latest?.version ?? 0) + 1;
      const vkey = { ...key, version };
      await trx('month_end_versions').insert({
        ...vkey,
        status,
        period_start: period.start,
        period_end: period.end,
        hours: period.hours,
        tag_keys: tagKeys,
        p99_drop_percent: period.p99DropPercent,
        data_complete_through: period.completeThrough,
        facts_watermark: watermark,
        as_of: asOf,
        checksum,
      });
      const v = { ...p, version };
      await trx.raw(
        `INSERT INTO month_end_totals (account_id, month, version, usage_type, unit, aggregation, on_demand_mode,
           total_usage, billable_usage, committed_usage, allotment_usage, included_usage, on_demand_usage,
           committed_price, on_demand_price, committed_cost, on_demand_cost, total_cost)
         SELECT :account, :first, :version, usage_type, unit, aggregation, on_demand_mode, total_usage,
                billable_usage, committed_usage, allotment_usage, included_usage, on_demand_usage, committed_price,
                on_demand_price, committed_cost, on_demand_cost, committed_cost + on_demand_cost
           FROM me_totals`,
        v,
      );
      await trx.raw(
        `INSERT INTO month_end_orgs (account_id, month, version, public_id, org_name, billable, usage_type,
           total_usage, billable_usage, committed_usage, on_demand_usage, percentage_in_account, committed_cost,
           on_demand_cost, total_cost)
         SELECT :account, :first, :version, public_id, org_name, billable, usage_type, total_usage,
                billable_usage, committed_usage, on_demand_usage, percentage_in_account, committed_cost,
                on_demand_cost, committed_cost + on_demand_cost
           FROM me_orgs`,
        v,
      );
      await trx.raw(
        `INSERT INTO month_end_tags (account_id, month, version, public_id, usage_type, cells, raw_usage,
           total_usage, billable_usage, committed_usage, on_demand_usage, percentage_in_org, percentage_in_account,
           committed_cost, on_demand_cost, total_cost)
         SELECT :account, :first, :version, public_id, usage_type, cells, raw_usage, total_usage, billable_usage,
                committed_usage, on_demand_usage, percentage_in_org, percentage_in_account, committed_cost,
                on_demand_cost, total_cost
           FROM me_tags`,
        v,
      );
      if (latest) {
        await trx('month_end_versions')
          .where(vkey)
          .update({
            changes: JSON.stringify(await versionChanges(trx, input.accountId, input.month, version)),
          });
      }
      const info = await versionInfo(trx, input.accountId, input.month, version);
      return { outcome: 'created', previousVersion: latest?.version ?? null, ...info };
    },
    { isolationLevel: 'repeatable read' },
  );
}

const monthOf = (alias?: string) => {
  const a = alias ? `${alias}.` : '';
  return `${a}account_id = :account AND ${a}day >= CAST(:first AS date)
          AND ${a}day < CAST(:first AS date) + interval '1 month'`;
};
const MONTH_FILTER = monthOf();

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

type FigureParams = {
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
};

/**
 * Working tables me_series, me_org, me_totals, me_orgs (dropped at commit): each org's figure per product under
 * the product's rule, the account's figures, and the chargeback by org.
 */
async function computeOrgFigures(trx: Knex.Transaction, p: FigureParams): Promise<void> {
  // Each org's hourly series, only for the products whose rule needs the hours (max, p99, last, hourly
  // on-demand; every product for month-to-date). Σ for sum and avg comes from the daily rows, which attribution
  // checked to add up to the hourly ones: half the rows of a month never need grouping by hour.
  const fullMonth = p.hours === p.monthHours;
  const needsHours = `(pr.aggregation IN ('max', 'p99', 'last') OR pr.on_demand_mode = 'hourly' OR NOT :fullMonth)`;
  await trx.raw(
    `CREATE TEMP TABLE me_series ON COMMIT DROP AS
     SELECT h.org_id, h.product_id, h.hour, sum(h.total_usage) AS v
       FROM attribution_hourly h
      WHERE ${monthOf('h')} AND h.hour < :until
        AND h.product_id IN (SELECT pr.id FROM products pr WHERE pr.account_id = :account AND ${needsHours})
      GROUP BY h.org_id, h.product_id, h.hour`,
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
async function computeTagFigures(trx: Knex.Transaction, p: FigureParams, tagKeys: string[]): Promise<void> {
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

export interface MonthToDate {
  hours: number;
  periodStart: string;
  periodEnd: string;
  /** Hours before this may still receive late data (as of minus the lateness window). */
  dataCompleteThrough: string;
  totals: SummaryTotal[];
  orgs: SummaryOrgInput[];
}

/**
 * The month so far, computed like the close but over the hours elapsed at `asOf` (avg and p99 over those hours)
 * from the days attributed so far; nothing is stored. Costs include the whole month's commitment.
 */
export async function monthToDate(
  db: Knex,
  input: { accountId: string; month: string; asOf: string },
): Promise<MonthToDate> {
  checkMonth(input.month);
  return db.transaction(
    async (trx) => {
      await trx.raw('SET LOCAL jit = off');
      const period = await monthPeriod(trx, input.accountId, input.month, new Date(input.asOf));
      const hours = Math.max(
        1,
        Math.round((period.elapsedEnd.getTime() - period.start.getTime()) / 3_600_000),
      );
      await computeOrgFigures(trx, {
        account: input.accountId,
        first: monthStart(input.month),
        hours,
        k: p99Rank(hours, period.p99DropPercent),
        until: period.elapsedEnd,
        monthHours: period.hours,
      });
      const { rows: totals } = await trx.raw(
        `SELECT usage_type, unit, trim_scale(total_usage)::text AS total_usage,
                trim_scale(billable_usage)::text AS billable_usage, committed_cost::text, on_demand_cost::text,
                (committed_cost + on_demand_cost)::text AS total_cost
           FROM me_totals ORDER BY usage_type COLLATE "C"`,
      );
      const { rows: orgs } = await trx.raw(
        `SELECT public_id, org_name, billable, usage_type, trim_scale(total_usage)::text AS total_usage,
                trim_scale(billable_usage)::text AS billable_usage, (committed_cost + on_demand_cost)::text AS total_cost
           FROM me_orgs ORDER BY public_id COLLATE "C", usage_type COLLATE "C"`,
      );
      return {
        hours,
        periodStart: period.start.toISOString(),
        periodEnd: period.elapsedEnd.toISOString(),
        dataCompleteThrough: period.completeThrough.toISOString(),
        totals,
        orgs,
      };
    },
    { isolationLevel: 'repeatable read' },
  );
}

export interface Change {
  public_id?: string;
  usage_type: string;
  field: string;
  from: string;
  to: string;
}

const CHANGE_FIELDS = ['total_usage', 'billable_usage', 'on_demand_usage', 'total_cost'];

/** What changed from the previous version: every account-level figure, and the 20 largest org cost changes. */
export async function versionChanges(
  db: Knex,
  accountId: string,
  month: string,
  version: number,
): Promise<Change[]> {
  const b = { account: accountId, month: monthStart(month), version, prev: version - 1 };
  const totals = CHANGE_FIELDS.map(
    (f) => `SELECT coalesce(n.usage_type, o.usage_type) AS usage_type, '${f}' AS field,
                   coalesce(o.${f}, 0)::text AS "from", coalesce(n.${f}, 0)::text AS "to"
              FROM (SELECT * FROM month_end_totals WHERE account_id = :account AND month = :month AND version = :version) n
              FULL JOIN (SELECT * FROM month_end_totals WHERE account_id = :account AND month = :month AND version = :prev) o
                ON o.usage_type = n.usage_type
             WHERE coalesce(o.${f}, 0) <> coalesce(n.${f}, 0)`,
  ).join(' UNION ALL ');
  const { rows: t } = await db.raw(`SELECT * FROM (${totals}) x ORDER BY usage_type, field`, b);
  const { rows: o } = await db.raw(
    `SELECT coalesce(n.public_id, o.public_id) AS public_id, coalesce(n.usage_type, o.usage_type) AS usage_type,
            'total_cost' AS field, coalesce(o.total_cost, 0)::text AS "from", coalesce(n.total_cost, 0)::text AS "to"
       FROM (SELECT * FROM month_end_orgs WHERE account_id = :account AND month = :month AND version = :version) n
       FULL JOIN (SELECT * FROM month_end_orgs WHERE account_id = :account AND month = :month AND version = :prev) o
         ON o.public_id = n.public_id AND o.usage_type = n.usage_type
      WHERE coalesce(o.total_cost, 0) <> coalesce(n.total_cost, 0)
      ORDER BY abs(coalesce(n.total_cost, 0) - coalesce(o.total_cost, 0)) DESC, 1, 2
      LIMIT 20`,
    b,
  );
  return [...(t as Change[]), ...(o as Change[])];
}

async function versionInfo(
  db: Knex,
  accountId: string,
  month: string,
  version: number,
): Promise<VersionInfo> {
  const r = await db('month_end_versions')
    .where({ account_id: accountId, month: monthStart(month), version })
    .first('status', 'checksum', 'data_complete_through', 'computed_at');
  return {
    accountId,
    month,
    version,
    status: r.status,
    checksum: r.checksum,
    dataCompleteThrough: new Date(r.data_complete_through).toISOString(),
    computedAt: new Date(r.computed_at).toISOString(),
  };
}

/**
 * The invariants over the close's working tables, checked before anything is stored: Σ tag rows = org figure,
 * Σ orgs = account figure, min(billable, included) + on-demand = billable, percentages add up to 100.
 */
async function invariantViolations(trx: Knex.Transaction): Promise<string[]> {
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
