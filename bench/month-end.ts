import type { Knex } from 'knex';
import { applyAccountSpec } from '../db/accounts';
import { closeMonth } from '../db/month-end';
import { AVG_SCALE, MONEY_SCALE, PCT_SCALE, QTY_SCALE } from '../domain/billing';
import { validateSpec } from '../domain/spec';
import { benchLine, timeIt, type BenchLine } from './lib';

/**
 * One fully attributed month of one account: `orgs` orgs × 20 products × every hour of the month, one hourly row
 * (one cells combination) per org, product and hour; each org and product moves between `cells` tag combinations
 * of `tagKeys` keys over the month, so the month has up to orgs × 20 × `cells` tag rows.
 */
export interface MonthEndScale {
  orgs: number;
  tagKeys: number;
  cells: number;
}

export interface MonthEndData {
  accountId: string;
  month: string;
  asOf: string;
  tagKeys: string[];
  hours: number;
  /** The p99 rule's rank for the month (account default: drop 1 %). */
  p99Rank: number;
  periodStart: Date;
  periodEnd: Date;
  hourlyRows: number;
  dailyRows: number;
}

const ACCOUNT = 'bench-month';
const MONTH = '2026-10';
/** After the month's end + lateness: the close is final. */
const AS_OF = '2026-11-28T00:00:00Z';
const KEY_NAMES = [
  'team',
  'env',
  'service',
  'region',
  'tier',
  'app',
  'owner',
  'cluster',
  'stage',
  'cost_center',
];
/** Distinct cells combinations of the month (each org and product uses `cells` of them). */
const COMBOS = 12;

type Product = {
  code: string;
  unit: string;
  aggregation: 'sum' | 'avg' | 'max' | 'p99' | 'last';
  allotment?: { per: string; quantity: string };
  on_demand?: 'monthly' | 'hourly';
};

/** 20 products over the five rules: 7 sum, 3 avg, 3 max, 4 p99, 3 last; two with an allotment, one hourly. */
const PRODUCTS: Product[] = [
  { code: 'infra_hosts', unit: 'host', aggregation: 'p99' },
  { code: 'containers', unit: 'container', aggregation: 'avg' },
  { code: 'apm_hosts', unit: 'host', aggregation: 'p99' },
  {
    code: 'apm_ingested_bytes',
    unit: 'GB',
    aggregation: 'sum',
    allotment: { per: 'apm_hosts', quantity: '150' },
  },
  { code: 'custom_metrics', unit: 'metric', aggregation: 'avg' },
  { code: 'logs_ingested_bytes', unit: 'GB', aggregation: 'sum' },
  { code: 'logs_indexed_events', unit: 'million events', aggregation: 'sum' },
  { code: 'synthetics_api_runs', unit: '10k test runs', aggregation: 'sum' },
  { code: 'ci_committers', unit: 'committer', aggregation: 'max' },
  { code: 'dbm_hosts', unit: 'host', aggregation: 'last' },
  { code: 'profiled_hosts', unit: 'host', aggregation: 'p99' },
  { code: 'rum_sessions', unit: '1k sessions', aggregation: 'sum' },
  { code: 'serverless_functions', unit: 'function', aggregation: 'avg' },
  { code: 'network_hosts', unit: 'host', aggregation: 'p99' },
  { code: 'security_hosts', unit: 'host', aggregation: 'max' },
  { code: 'iot_devices', unit: 'device', aggregation: 'last' },
  { code: 'incident_seats', unit: 'seat', aggregation: 'max' },
  { code: 'ci_pipeline_minutes', unit: 'minute', aggregation: 'sum' },
  { code: 'usm_hosts', unit: 'host', aggregation: 'last' },
  {
    code: 'indexed_spans',
    unit: 'million spans',
    aggregation: 'sum',
    allotment: { per: 'infra_hosts', quantity: '300' },
    on_demand: 'hourly',
  },
];

/**
 * The bench account: `orgs` client orgs (every 10th nested under the previous one, every 25th a trial org with
 * billable: false), the 20 products, commitments sized to the org count so that some products run on-demand and
 * some stay under their commitment, and `tagKeys` attribution keys.
 */
export function monthEndSpec(scale: MonthEndScale) {
  if (scale.tagKeys < 1 || scale.tagKeys > KEY_NAMES.length)
    throw new Error('month-end bench: 1 to 10 tag keys');
  const n = scale.orgs;
  const q = (perOrg: number) => String(perOrg * n);
  const spec = {
    account: { id: ACCOUNT, name: 'Bench month-end MSP', timezone: 'UTC', lateness: '72h' },
    orgs: [
      { id: ACCOUNT, name: 'Bench month-end MSP' },
      ...Array.from({ length: n }, (_, i) => ({
        id: `bm-org-${i}`,
        name: `Month org ${i}`,
        parent: i % 10 === 9 ? `bm-org-${i - 1}` : ACCOUNT,
        billable: i % 25 !== 12,
      })),
    ],
    products: PRODUCTS,
    commitments: [
      { product: 'infra_hosts', quantity: q(2500), committed_price: '15.00', on_demand_price: '18.00' },
      { product: 'apm_hosts', quantity: q(4000), committed_price: '31.00', on_demand_price: '36.00' },
      {
        product: 'apm_ingested_bytes',
        quantity: q(100_000),
        committed_price: '0.10',
        on_demand_price: '0.10',
      },
      {
        product: 'logs_indexed_events',
        quantity: q(1_000_000),
        committed_price: '1.70',
        on_demand_price: '2.55',
      },
      { product: 'containers', quantity: q(1000), committed_price: '0.002', on_demand_price: '0.0025' },
      { product: 'indexed_spans', quantity: q(50_000), committed_price: '1.27', on_demand_price: '1.70' },
    ],
    attribution: { tag_keys: KEY_NAMES.slice(0, scale.tagKeys) },
  };
  const v = validateSpec(spec);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.spec;
}

/**
 * The month's cells combinations for `keys`: untagged; a multi-value first key with the second key set; the first
 * key present without value; the rest one value per key. All distinct.
 */
export function monthEndCells(keys: readonly string[]): (string | null)[][] {
  return Array.from({ length: COMBOS }, (_, i) =>
    keys.map((k, j) =>
      i === 0
        ? null
        : i === 1
          ? j === 0
            ? 'a|b'
            : j === 1
              ? 'prod'
              : null
          : i === 2
            ? j === 0
              ? '<empty>'
              : null
            : j === 0
              ? `${k}${i}`
              : `${k}${i % (j + 2)}`,
    ),
  );
}

/**
 * Loads one fully attributed month straight into Postgres (set-based, not through ingest or attributeDay), day by
 * day: the day's facts (one per org × product × hour, each in the tag set of a cell combination), its
 * attribution_daily rows (the exact per-day sums of those facts by cells) and its attribution_runs row (the
 * account's tag keys), so that closeMonth finds every day attributed and none pending. Values have up to
 * 3 decimals and come from a formula of the indices; the first 5 % of orgs are 50× larger, the next 15 % 5×.
 * Previous attribution and month-end bench data are truncated (the attribution and export lines run before).
 */
export async function loadMonthEndData(
  db: Knex,
  scale: MonthEndScale,
  log: (s: string) => void,
): Promise<MonthEndData> {
  if (scale.cells < 1 || scale.cells > COMBOS) throw new Error(`month-end bench: 1 to ${COMBOS} cells`);
  await db.raw(
    `TRUNCATE usage_facts, ingest_batches, attribution_cells, attribution_daily, attribution_totals, attribution_runs,
       attribution_pending, month_end_versions CASCADE`,
  );
  const spec = monthEndSpec(scale);
  await applyAccountSpec(db, spec, { asOfMs: Date.now() });
  const tagKeys = spec.attribution.tag_keys;
  const combos = monthEndCells(tagKeys).map((c, i) => ({ i, c }));
  const { rows: period } = await db.raw(
    `SELECT s AS start, e AS end, (extract(epoch FROM e - s) / 3600)::int AS hours,
            floor(a.p99_drop_percent * (extract(epoch FROM e - s) / 3600)::int / 100)::int + 1 AS p99_rank
       FROM accounts a,
            LATERAL (SELECT (CAST(:first AS date))::timestamp AT TIME ZONE a.timezone AS s,
                            (CAST(:first AS date) + interval '1 month')::timestamp AT TIME ZONE a.timezone AS e) b
      WHERE a.id = :account`,
    { first: `${MONTH}-01`, account: ACCOUNT },
  );
  const { start, end, hours, p99_rank } = period[0] as {
    start: Date;
    end: Date;
    hours: number;
    p99_rank: number;
  };
  const { rows: days } = await db.raw(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day,
            (d::timestamp AT TIME ZONE a.timezone) AS start, ((d + 1)::timestamp AT TIME ZONE a.timezone) AS end
       FROM accounts a,
            LATERAL (SELECT g::date AS d
                       FROM generate_series(CAST(:first AS date), CAST(:first AS date) + interval '1 month' - interval '1 day',
                                            interval '1 day') AS g) g
      WHERE a.id = :account ORDER BY d`,
    { first: `${MONTH}-01`, account: ACCOUNT },
  );
  const t0 = Date.now();
  // One fake batch and one tag set per cell combination: the facts' tags are not read by the close (the daily
  // rows carry the cells), only their sums per hour.
  const [batch] = await db('ingest_batches')
    .insert({
      batch_key: 'bench-month-end',
      source: 'bench',
      format: 'ndjson',
      records_read: 0,
      accepted: 0,
      as_of: db.fn.now(),
    })
    .returning('id');
  await db.raw(
    `INSERT INTO tag_sets (tags_hash, tags)
     SELECT 'bench-month-combo-' || i, ARRAY['bench:combo-' || i] FROM generate_series(0, ${COMBOS - 1}) i
     ON CONFLICT (tags_hash) DO NOTHING`,
  );
  let hourlyRows = 0;
  let dailyRows = 0;
  for (const d of days as { day: string; start: Date; end: Date }[]) {
    await db.transaction(async (trx) => {
      // Sorting a day's rows into key order is the loader's work, not the benchmark's; so would be compiling it
      // (JIT compilation was most of each day's insert at small scale).
      await trx.raw(`SET LOCAL work_mem = '256MB'`);
      await trx.raw(`SET LOCAL jit = off`);
      const params = {
        account: ACCOUNT,
        day: d.day,
        dayStart: d.start,
        dayEnd: d.end,
        monthStart: start,
        orgs: scale.orgs,
        cells: scale.cells,
        combos: JSON.stringify(combos),
        codes: PRODUCTS.map((p) => p.code),
        batch: (batch as { id: string }).id,
        lineBase: hourlyRows,
      };
      const hourly = await trx.raw(
        `WITH o AS (SELECT id, split_part(public_id, '-', 3)::int AS i,
                           CASE WHEN split_part(public_id, '-', 3)::int < :orgs / 20.0 THEN 50
                                WHEN split_part(public_id, '-', 3)::int < :orgs / 5.0 THEN 5 ELSE 1 END AS size
                      FROM orgs WHERE account_id = :account AND public_id <> :account),
              p AS (SELECT id, array_position(CAST(:codes AS text[]), code) - 1 AS i
                      FROM products WHERE account_id = :account),
              c AS MATERIALIZED (SELECT (e->>'i')::int AS i, t.id AS tag_set_id
                      FROM jsonb_array_elements(CAST(:combos AS jsonb)) e
                      JOIN tag_sets t ON t.tags_hash = 'bench-month-combo-' || (e->>'i')),
              h AS (SELECT hour, (extract(epoch FROM hour - CAST(:monthStart AS timestamptz)) / 3600)::int AS i
                      FROM generate_series(CAST(:dayStart AS timestamptz), CAST(:dayEnd AS timestamptz) - interval '1 hour',
                                           interval '1 hour') AS hour),
              x AS (SELECT o.id AS org_id, p.id AS product_id, h.hour, o.size,
                           (o.i * 3 + p.i * 5 + 7 * ((((o.i * 31 + p.i * 17 + h.i * 7919)::bigint * 2654435761) % 1000003)
                                                     % :cells)) % ${COMBOS} AS combo,
                           (((o.i * 7919 + p.i * 104729 + h.i * 1299709)::bigint * 2654435761) % 1000003) AS r
                      FROM o, p, h)
         INSERT INTO usage_facts (batch_id, line, org_id, product_id, hour, tag_set_id, value)
         SELECT :batch, :lineBase + row_number() OVER (ORDER BY x.hour, x.org_id, x.product_id), x.org_id,
                x.product_id, x.hour, c.tag_set_id, x.r * 0.001 * x.size
           FROM x JOIN c ON c.i = x.combo`,
        params,
      );
      const daily = await trx.raw(
        `WITH c AS MATERIALIZED (SELECT t.id AS tag_set_id,
                           ARRAY(SELECT x FROM jsonb_array_elements_text(e->'c') WITH ORDINALITY AS t(x, n) ORDER BY n)
                             AS cells
                      FROM jsonb_array_elements(CAST(:combos AS jsonb)) e
                      JOIN tag_sets t ON t.tags_hash = 'bench-month-combo-' || (e->>'i'))
         INSERT INTO attribution_daily (account_id, day, org_id, product_id, cells, total_usage)
         SELECT :account, CAST(:day AS date), f.org_id, f.product_id, c.cells, sum(f.value)
           FROM usage_facts f JOIN c ON c.tag_set_id = f.tag_set_id
          WHERE f.hour >= :dayStart AND f.hour < :dayEnd
          GROUP BY f.org_id, f.product_id, c.cells
          ORDER BY f.org_id, f.product_id, c.cells`,
        params,
      );
      await trx('attribution_runs').insert({
        account_id: ACCOUNT,
        day: d.day,
        tag_keys: tagKeys,
        tag_keys_from: '1970-01-01',
        period_start: d.start,
        period_end: d.end,
        facts_watermark: null,
        facts: hourly.rowCount ?? 0,
        hourly_rows: hourly.rowCount ?? 0,
        daily_rows: daily.rowCount ?? 0,
      });
      hourlyRows += hourly.rowCount ?? 0;
      dailyRows += daily.rowCount ?? 0;
    });
  }
  await db.raw('VACUUM ANALYZE usage_facts, attribution_daily, attribution_runs');
  await db.raw('ANALYZE orgs, products, commitments, accounts');
  const expected = scale.orgs * PRODUCTS.length * hours;
  if (hourlyRows !== expected) throw new Error(`loaded ${hourlyRows} hourly rows, expected ${expected}`);
  log(
    `month-end data: ${hourlyRows.toLocaleString('en-US')} hourly rows (${scale.orgs} orgs × ${PRODUCTS.length} products × ${hours} h), ${dailyRows.toLocaleString('en-US')} daily rows (${scale.tagKeys} tag keys, ${scale.cells} cells combinations per org and product) for ${ACCOUNT} ${MONTH}, loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return {
    accountId: ACCOUNT,
    month: MONTH,
    asOf: AS_OF,
    tagKeys,
    hours,
    p99Rank: p99_rank,
    periodStart: start,
    periodEnd: end,
    hourlyRows,
    dailyRows,
  };
}

/** count, Σ of a figure and an md5 of the ordered rows of one version in each month-end figure table. */
async function fingerprint(db: Knex, data: MonthEndData, version: number): Promise<string> {
  const where = `account_id = :account AND month = CAST(:first AS date) AND version = :version`;
  const { rows } = await db.raw(
    `SELECT 'totals' AS t, count(*) AS n, coalesce(sum(total_cost), 0) AS total,
            md5(string_agg(md5(concat_ws(E'\\t', usage_type, unit, aggregation, on_demand_mode, total_usage,
                  billable_usage, committed_usage, allotment_usage, included_usage, on_demand_usage, committed_price,
                  on_demand_price, committed_cost, on_demand_cost, total_cost)), '' ORDER BY usage_type COLLATE "C")) AS md5
       FROM month_end_totals WHERE ${where}
     UNION ALL
     SELECT 'orgs', count(*), coalesce(sum(total_usage), 0),
            md5(string_agg(md5(concat_ws(E'\\t', public_id, org_name, billable, usage_type, total_usage,
                  billable_usage, committed_usage, on_demand_usage, percentage_in_account, committed_cost,
                  on_demand_cost, total_cost)), '' ORDER BY public_id COLLATE "C", usage_type COLLATE "C"))
       FROM month_end_orgs WHERE ${where}
     UNION ALL
     SELECT 'tags', count(*), coalesce(sum(total_usage), 0),
            md5(string_agg(md5(concat_ws(E'\\t', public_id, usage_type, cells::text, raw_usage, total_usage,
                  billable_usage, committed_usage, on_demand_usage, percentage_in_org, percentage_in_account,
                  committed_cost, on_demand_cost, total_cost)), ''
                ORDER BY public_id COLLATE "C", usage_type COLLATE "C", cells::text COLLATE "C"))
       FROM month_end_tags WHERE ${where}`,
    { account: data.accountId, first: `${data.month}-01`, version },
  );
  return (rows as { t: string; n: string; total: string; md5: string | null }[])
    .map((r) => `${r.t} ${r.n} rows, Σ ${r.total}, md5 ${r.md5?.slice(0, 12)}`)
    .join('; ');
}

/** One figure to split over rows: `f` in units of 10^-`s`, by weight `w` out of `W` (Σ w over the partition). */
interface Share {
  name: string;
  f: string;
  s: string;
  w: string;
  W: string;
  /** Rounded to cents once more (as stored). */
  money?: boolean;
}

/**
 * Largest-remainder allocation (domain/exact.ts allocate()) of figure `f` in units of 10^-`s` by weight `w` out of
 * `W` (Σ w over the partition): floor(units × w / W) each, and one more unit to each of the (units − Σ floors) rows
 * with the largest remainders, ties to the smaller `tie`; with W = 0 the row where `first` holds takes it all.
 */
function lr(f: string, s: string, w: string, W: string, part: string, tie: string, first: string): string {
  const u = `((${f}) * power(10::numeric, ${s}))`;
  const q = `div(${u} * ${w}, nullif(${W}, 0))`;
  return `trim_scale(CASE WHEN ${W} = 0 THEN CASE WHEN ${first} THEN ${f} ELSE 0 END
      ELSE round((${q} + CASE WHEN row_number() OVER (PARTITION BY ${part} ORDER BY mod(${u} * ${w}, nullif(${W}, 0)) DESC, ${tie})
                                 <= ${u} - sum(${q}) OVER (PARTITION BY ${part}) THEN 1 ELSE 0 END)
                 / power(10::numeric, ${s}), ${s}) END)`;
}

/** SELECT `keep` and one column per share (each split with lr(), ties in the C collation) FROM `from`. */
function allocation(
  from: string,
  keep: string[],
  shares: Share[],
  o: { part: string[]; tie: string; first: string },
): string {
  const part = o.part.join(', ');
  const tie = `${o.tie} COLLATE "C"`;
  const cols = shares.map((x) => {
    const v = lr(x.f, x.s, x.w, x.W, part, tie, o.first);
    return `${x.money ? `round(${v}, ${MONEY_SCALE})` : v} AS ${x.name}`;
  });
  return `SELECT ${[...keep, ...cols].join(', ')} FROM ${from}`;
}

/** Quantities are split at QTY_SCALE decimals, or more when the figure has more. */
const qs = (f: string) => `greatest(${QTY_SCALE}, scale(trim_scale(${f})))`;

/**
 * The floor's first pass: the month's attribution_daily rows summed per org, product and cells — the tag rows'
 * weights, and (summed once more per org and product) the month's Σ, which is all the sum and avg rules need:
 * attributeDay guarantees Σ daily = Σ hourly for every org, product and day.
 */
const FLOOR_RAW = `
  CREATE TEMP TABLE f_raw ON COMMIT DROP AS
  SELECT org_id, product_id, cells, sum(total_usage) AS raw_usage
    FROM attribution_daily
   WHERE account_id = :account AND day >= CAST(:first AS date) AND day < CAST(:first AS date) + interval '1 month'
   GROUP BY org_id, product_id, cells`;

/**
 * The floor's hourly series, only for the products whose rule needs one (max, p99, last, and hourly on-demand):
 * ONE pass over the month's facts, summed per org, product and hour (the tag sets of an hour add up).
 * Kept in a temporary table and analyzed: folded straight into the per-org aggregate, the planner misjudges the
 * number of groups and partitions that aggregate to disk (2.3 s instead of ~1.5 s in all at small scale).
 */
const FLOOR_SERIES = `
  CREATE TEMP TABLE f_series ON COMMIT DROP AS
  SELECT f.org_id, f.product_id, f.hour, sum(f.value) AS v
    FROM usage_facts f
    JOIN products p ON p.id = f.product_id AND (p.aggregation IN ('max', 'p99', 'last') OR p.on_demand_mode = 'hourly')
   WHERE f.hour >= :start AND f.hour < :end AND f.org_id IN (SELECT o.id FROM orgs o WHERE o.account_id = :account)
   GROUP BY f.org_id, f.product_id, f.hour`;

/**
 * The floor's org quantities: Σ from the daily pass for sum and avg; the series folded per org and product with
 * hashable aggregates only: max; the (hour, value) pair of the latest hour for last; the unsorted hourly values of
 * p99 products (the rank is taken in the array of one org and product); the (hour, value) arrays of hourly-mode
 * products, which the account level sums per hour over billable orgs.
 */
const FLOOR_ORG = `
  CREATE TEMP TABLE f_org ON COMMIT DROP AS
  SELECT r.org_id, r.product_id, o.public_id, o.name AS org_name, o.billable, x.hh, x.hv,
         CASE pr.aggregation
           WHEN 'sum' THEN r.v_sum
           WHEN 'avg' THEN div(2 * r.v_sum * power(10::numeric, ${AVG_SCALE}) + :hours, 2 * :hours)
                           / power(10::numeric, ${AVG_SCALE})
           WHEN 'max' THEN x.v_max
           WHEN 'last' THEN x.v_last[2]
           WHEN 'p99' THEN coalesce((SELECT v FROM unnest(x.p99) AS v ORDER BY v DESC OFFSET :k - 1 LIMIT 1), 0)
         END AS total_usage
    FROM (SELECT org_id, product_id, sum(raw_usage) AS v_sum FROM f_raw GROUP BY org_id, product_id) r
    JOIN products pr ON pr.id = r.product_id
    JOIN orgs o ON o.id = r.org_id
    LEFT JOIN (
      SELECT s.org_id, s.product_id, max(s.v) AS v_max,
             max(ARRAY[extract(epoch FROM s.hour)::numeric, s.v]) FILTER (WHERE p.aggregation = 'last') AS v_last,
             array_agg(s.v) FILTER (WHERE p.aggregation = 'p99') AS p99,
             array_agg(s.hour) FILTER (WHERE p.on_demand_mode = 'hourly') AS hh,
             array_agg(s.v) FILTER (WHERE p.on_demand_mode = 'hourly') AS hv
        FROM f_series s JOIN products p ON p.id = s.product_id
       GROUP BY s.org_id, s.product_id) x ON x.org_id = r.org_id AND x.product_id = r.product_id`;

/** Account level per product, from the org quantities (the rules of domain/billing.ts accountFigures()). */
const FLOOR_TOTALS = `
  CREATE TEMP TABLE f_totals ON COMMIT DROP AS
  WITH agg AS (
    SELECT pr.id AS product_id, coalesce(sum(m.total_usage), 0) AS total_usage,
           coalesce(sum(m.total_usage) FILTER (WHERE m.billable), 0) AS billable_usage
      FROM products pr LEFT JOIN f_org m ON m.product_id = pr.id
     WHERE pr.account_id = :account
     GROUP BY pr.id
  ), base AS (
    SELECT pr.id AS product_id, pr.code, pr.unit, pr.aggregation, pr.on_demand_mode, a.total_usage, a.billable_usage,
           coalesce(c.quantity, 0) AS committed, coalesce(c.committed_price, 0) AS committed_price,
           coalesce(c.on_demand_price, 0) AS on_demand_price,
           CASE WHEN pr.allotment_per IS NULL THEN 0
                ELSE greatest(coalesce(gc.quantity, 0), coalesce(ga.billable_usage, 0)) * pr.allotment_quantity END
             AS granted
      FROM products pr
      JOIN agg a ON a.product_id = pr.id
      LEFT JOIN commitments c ON c.account_id = pr.account_id AND c.product_code = pr.code
      LEFT JOIN products gp ON gp.account_id = pr.account_id AND gp.code = pr.allotment_per
      LEFT JOIN agg ga ON ga.product_id = gp.id
      LEFT JOIN commitments gc ON gc.account_id = pr.account_id AND gc.product_code = pr.allotment_per
     WHERE pr.account_id = :account
  ), usable AS (
    SELECT b.product_id,
           sum(least(h.v, div(2 * b.granted * 12 * power(10::numeric, ${AVG_SCALE}) + 8760, 2 * 8760)
                          / power(10::numeric, ${AVG_SCALE}))) AS usable
      FROM base b
      JOIN (SELECT m.product_id, u.hour, sum(u.v) AS v
              FROM f_org m, unnest(m.hh, m.hv) AS u(hour, v)
             WHERE m.billable AND m.hh IS NOT NULL
             GROUP BY m.product_id, u.hour) h ON h.product_id = b.product_id
     WHERE b.on_demand_mode = 'hourly'
     GROUP BY b.product_id
  ), f AS (
    SELECT b.*, CASE WHEN b.on_demand_mode = 'hourly' THEN coalesce(u.usable, 0) ELSE b.granted END AS allotment,
           greatest(0, b.billable_usage - b.committed
                       - CASE WHEN b.on_demand_mode = 'hourly' THEN coalesce(u.usable, 0) ELSE b.granted END) AS od
      FROM base b LEFT JOIN usable u ON u.product_id = b.product_id
  )
  SELECT product_id, code AS usage_type, unit, aggregation, on_demand_mode,
         trim_scale(total_usage) AS total_usage, trim_scale(billable_usage) AS billable_usage,
         trim_scale(committed) AS committed_usage, trim_scale(allotment) AS allotment_usage,
         trim_scale(committed + allotment) AS included_usage, trim_scale(od) AS on_demand_usage,
         committed_price, on_demand_price, round(committed * committed_price, ${MONEY_SCALE}) AS committed_cost,
         round(od * on_demand_price, ${MONEY_SCALE}) AS on_demand_cost
    FROM f`;

const FLOOR_INSERT_TOTALS = `
  INSERT INTO month_end_totals (account_id, month, version, usage_type, unit, aggregation, on_demand_mode,
    total_usage, billable_usage, committed_usage, allotment_usage, included_usage, on_demand_usage,
    committed_price, on_demand_price, committed_cost, on_demand_cost, total_cost)
  SELECT :account, CAST(:first AS date), :version, usage_type, unit, aggregation, on_demand_mode, total_usage,
         billable_usage, committed_usage, allotment_usage, included_usage, on_demand_usage, committed_price,
         on_demand_price, committed_cost, on_demand_cost, committed_cost + on_demand_cost
    FROM f_totals`;

/**
 * Org level: the account figures split over the orgs (a commitment without any billable usage goes to the
 * parent's own org), inserted, and kept (RETURNING) for the tag level.
 */
function floorOrgs(): string {
  const covered = 'least(t.billable_usage, t.included_usage)';
  const byBillable = { w: 'm.billable_usage', W: 't.billable_usage' };
  const money = String(MONEY_SCALE);
  const split = allocation(
    `(SELECT f.product_id, f.public_id, f.org_name, f.billable, f.total_usage,
             CASE WHEN f.billable THEN f.total_usage ELSE 0 END AS billable_usage
        FROM f_org f
      UNION ALL
      SELECT t.product_id, o.public_id, o.name, o.billable, 0, 0
        FROM f_totals t JOIN orgs o ON o.account_id = :account AND o.public_id = :account
       WHERE t.billable_usage = 0 AND t.committed_cost + t.on_demand_cost > 0
         AND NOT EXISTS (SELECT 1 FROM f_org f WHERE f.org_id = o.id AND f.product_id = t.product_id)) m
     JOIN f_totals t ON t.product_id = m.product_id`,
    [
      'm.public_id',
      'm.org_name',
      'm.billable',
      't.usage_type',
      'trim_scale(m.total_usage) AS total_usage',
      'trim_scale(m.billable_usage) AS billable_usage',
    ],
    [
      { name: 'committed_usage', f: covered, s: qs(covered), ...byBillable },
      { name: 'on_demand_usage', f: 't.on_demand_usage', s: qs('t.on_demand_usage'), ...byBillable },
      {
        name: 'percentage_in_account',
        f: 'CASE WHEN t.total_usage > 0 THEN 100 ELSE 0 END',
        s: String(PCT_SCALE),
        w: 'm.total_usage',
        W: 't.total_usage',
      },
      { name: 'committed_cost', f: 't.committed_cost', s: money, ...byBillable, money: true },
      { name: 'on_demand_cost', f: 't.on_demand_cost', s: money, ...byBillable, money: true },
    ],
    { part: ['m.product_id'], tie: 'm.public_id', first: 'm.public_id = :account' },
  );
  return `
  CREATE TEMP TABLE f_orgs ON COMMIT DROP AS
  WITH ins AS (
    INSERT INTO month_end_orgs (account_id, month, version, public_id, org_name, billable, usage_type, total_usage,
      billable_usage, committed_usage, on_demand_usage, percentage_in_account, committed_cost, on_demand_cost,
      total_cost)
    SELECT :account, CAST(:first AS date), :version, x.*, x.committed_cost + x.on_demand_cost FROM (${split}) x
    RETURNING public_id, usage_type, total_usage, billable_usage, committed_usage, on_demand_usage,
              percentage_in_account, committed_cost, on_demand_cost)
  SELECT * FROM ins`;
}

/**
 * Tag level: each org figure split over its tag rows (the daily pass's sums per cells; an org row without tag rows
 * gets one untagged row), inserted.
 */
function floorTags(): string {
  const byRaw = { w: 'r.raw_usage', W: 'r.w_total' };
  const qty = (name: string) => ({ name, f: `m.${name}`, s: qs(`m.${name}`), ...byRaw });
  const split = allocation(
    'r JOIN f_orgs m ON m.public_id = r.public_id AND m.usage_type = r.usage_type',
    ['r.public_id', 'r.usage_type', 'r.cells', 'trim_scale(r.raw_usage) AS raw_usage'],
    [
      qty('total_usage'),
      qty('billable_usage'),
      qty('committed_usage'),
      qty('on_demand_usage'),
      {
        name: 'percentage_in_org',
        f: 'CASE WHEN r.w_total > 0 THEN 100 ELSE 0 END',
        s: String(PCT_SCALE),
        ...byRaw,
      },
      { name: 'percentage_in_account', f: 'm.percentage_in_account', s: String(PCT_SCALE), ...byRaw },
      { name: 'committed_cost', f: 'm.committed_cost', s: String(MONEY_SCALE), ...byRaw, money: true },
      { name: 'on_demand_cost', f: 'm.on_demand_cost', s: String(MONEY_SCALE), ...byRaw, money: true },
    ],
    { part: ['r.public_id', 'r.usage_type'], tie: 'r.cells', first: 'r.is_first' },
  );
  return `
  WITH raw AS (
    SELECT o.public_id, p.code AS usage_type, d.cells, d.raw_usage
      FROM f_raw d JOIN orgs o ON o.id = d.org_id JOIN products p ON p.id = d.product_id
  ), r AS (
    SELECT a.*, sum(a.raw_usage) OVER (PARTITION BY a.public_id, a.usage_type) AS w_total,
           row_number() OVER (PARTITION BY a.public_id, a.usage_type ORDER BY a.cells COLLATE "C") = 1 AS is_first
      FROM (SELECT * FROM raw
            UNION ALL
            SELECT m.public_id, m.usage_type, array_fill(NULL::text, ARRAY[CAST(:nkeys AS int)]), 0 FROM f_orgs m
             WHERE NOT EXISTS (SELECT 1 FROM raw x WHERE x.public_id = m.public_id AND x.usage_type = m.usage_type)) a
  )
  INSERT INTO month_end_tags (account_id, month, version, public_id, usage_type, cells, raw_usage, total_usage,
    billable_usage, committed_usage, on_demand_usage, percentage_in_org, percentage_in_account, committed_cost,
    on_demand_cost, total_cost)
  SELECT :account, CAST(:first AS date), :version, x.*, x.committed_cost + x.on_demand_cost FROM (${split}) x`;
}

/**
 * The floor: the same version's figures (a version row, then the totals, org and tag rows) in nine statements,
 * without closeMonth's completeness check, invariant checks and checksum.
 */
export async function floorClose(db: Knex, data: MonthEndData, version: number): Promise<void> {
  const p = {
    account: data.accountId,
    first: `${data.month}-01`,
    version,
    hours: data.hours,
    k: data.p99Rank,
    nkeys: data.tagKeys.length,
    start: data.periodStart,
    end: data.periodEnd,
  };
  await db.transaction(async (trx) => {
    await trx('month_end_versions').insert({
      account_id: data.accountId,
      month: p.first,
      version,
      status: 'final',
      issued_status: 'final',
      currency: 'USD',
      period_start: data.periodStart,
      period_end: data.periodEnd,
      hours: data.hours,
      tag_keys: data.tagKeys,
      p99_drop_percent: 1,
      data_complete_through: data.periodEnd,
      as_of: data.asOf,
      checksum: 'floor',
    });
    await trx.raw(FLOOR_RAW, p);
    await trx.raw(FLOOR_SERIES, p);
    await trx.raw('ANALYZE f_series');
    await trx.raw(FLOOR_ORG, p);
    await trx.raw(FLOOR_TOTALS, p);
    await trx.raw(FLOOR_INSERT_TOTALS, p);
    await trx.raw(floorOrgs(), p);
    await trx.raw(floorTags(), p);
  });
}

/**
 * Month-end close: closeMonth (completeness check, per-rule aggregation of the month's hourly rows, account
 * figures, chargeback by org and by tag, invariant checks, checksum, a new stored version, in one REPEATABLE READ
 * transaction) against the floor, a few hand-written statements that store the same figures. Before every run the
 * month's stored versions are deleted (the figures go with them), so closeMonth computes and writes version 1
 * every time instead of finding an unchanged checksum. Throws unless the floor stored exactly the rows closeMonth
 * stored (month_end_totals, month_end_orgs, month_end_tags). rows = hourly rows of the month.
 */
export async function benchMonthEnd(
  db: Knex,
  data: MonthEndData,
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine> {
  const reset = async () => {
    await db('month_end_versions')
      .where({ account_id: data.accountId, month: `${data.month}-01` })
      .delete();
    await db.raw('VACUUM month_end_versions, month_end_totals, month_end_orgs, month_end_tags');
    await db.raw('CHECKPOINT');
  };
  const runs: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    await reset();
    floors.push(await timeIt(() => floorClose(db, data, 1)));
    const floorRows = await fingerprint(db, data, 1);
    await reset();
    runs.push(
      await timeIt(async () => {
        const r = await closeMonth(db, { accountId: data.accountId, month: data.month, asOf: data.asOf });
        if (r.outcome !== 'created' || r.version !== 1)
          throw new Error(`closeMonth: ${JSON.stringify(r)}, expected version 1 created`);
      }),
    );
    const got = await fingerprint(db, data, 1);
    if (floorRows !== got)
      throw new Error(`floor differs from closeMonth:\n  floor ${floorRows}\n  close ${got}`);
    opts.log(
      `  run ${i + 1}: closeMonth ${runs[i]?.toFixed(0)} ms, floor ${floors[i]?.toFixed(0)} ms (same rows: ${got})`,
    );
  }
  return benchLine('month-end (facts, daily rows → month_end_*)', data.hourlyRows, runs, floors);
}
