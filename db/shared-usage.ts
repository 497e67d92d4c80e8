import type { Knex } from 'knex';

/**
 * The reads of a shared dashboard that no console page makes: a subtree's usage per day, and its top tag
 * combinations under a share's locked filters. Both set-based: Postgres sums, the page only draws.
 */
export interface DayValue {
  usage_type: string;
  unit: string;
  aggregation: string;
  day: string;
  value: string;
}

/**
 * Per product and calendar day (the account's zone) from `from` to `to` (days, `to` excluded): the orgs' hours
 * summed first, then the day measured as the product is billed — a sum, or the average / maximum / p99 / last of
 * the hours with data.
 */
export async function dailyUsage(
  db: Knex,
  q: { accountId: string; orgs: readonly string[]; from: string; to: string; zone: string },
): Promise<DayValue[]> {
  const { rows } = await db.raw(
    `WITH h AS (
       SELECT u.product_id, u.hour, sum(u.total) AS v
         FROM usage_hourly u JOIN orgs o ON o.id = u.org_id
        WHERE u.account_id = :account
          AND o.public_id IN (SELECT jsonb_array_elements_text(CAST(:orgs AS jsonb)))
          AND u.hour >= (CAST(:from AS date)::timestamp AT TIME ZONE :zone)
          AND u.hour < (CAST(:to AS date)::timestamp AT TIME ZONE :zone)
        GROUP BY 1, 2)
     SELECT p.code AS usage_type, p.unit, p.aggregation,
            to_char((h.hour AT TIME ZONE :zone)::date, 'YYYY-MM-DD') AS day,
            (CASE p.aggregation
               WHEN 'sum' THEN sum(h.v)
               WHEN 'avg' THEN avg(h.v)
               WHEN 'max' THEN max(h.v)
               WHEN 'p99' THEN percentile_disc(0.99) WITHIN GROUP (ORDER BY h.v)
               ELSE (array_agg(h.v ORDER BY h.hour DESC))[1] END)::text AS value
       FROM h JOIN products p ON p.id = h.product_id
      GROUP BY p.code, p.unit, p.aggregation, 4
      ORDER BY p.code COLLATE "C", 4`,
    { account: q.accountId, orgs: JSON.stringify(q.orgs), from: q.from, to: q.to, zone: q.zone },
  );
  return rows;
}

export interface TagRow {
  tags: string;
  usage: string;
  /** Of the filtered rows' total, in percent. */
  share: string;
}

/**
 * The largest tag combinations of one product over attributed days (`from` to `to`, `to` excluded) among the
 * orgs, keeping only rows whose cell for every filter key holds exactly its value (a key the day did not
 * attribute by matches nothing). Σ hourly usage, as the daily attribution files have it.
 */
export async function topTags(
  db: Knex,
  q: {
    accountId: string;
    orgs: readonly string[];
    product: string;
    from: string;
    to: string;
    filters: Record<string, string>;
    limit: number;
  },
): Promise<{ rows: TagRow[]; total: string; combinations: number }> {
  const { rows } = await db.raw(
    `WITH f AS (
       SELECT array_to_string(ARRAY(
                SELECT k || ':' || coalesce(c, '(none)') FROM unnest(r.tag_keys, d.cells) AS u(k, c)), ', ') AS tags,
              d.total_usage
         FROM attribution_daily d
         JOIN attribution_runs r ON r.account_id = d.account_id AND r.day = d.day
         JOIN orgs o ON o.id = d.org_id
         JOIN products p ON p.id = d.product_id
        WHERE d.account_id = :account AND d.day >= CAST(:from AS date) AND d.day < CAST(:to AS date)
          AND p.account_id = :account AND p.code = :product
          AND o.public_id IN (SELECT jsonb_array_elements_text(CAST(:orgs AS jsonb)))
          AND NOT EXISTS (SELECT 1 FROM jsonb_each_text(CAST(:filters AS jsonb)) AS x(k, v)
                           WHERE d.cells[array_position(r.tag_keys, x.k)] IS DISTINCT FROM x.v)),
     g AS (SELECT tags, sum(total_usage) AS usage FROM f GROUP BY tags),
     t AS (SELECT coalesce(sum(usage), 0) AS total, count(*)::int AS n FROM g)
     SELECT g.tags, g.usage::text AS usage,
            CASE WHEN t.total = 0 THEN '0' ELSE round(100 * g.usage / t.total, 2)::text END AS share,
            t.total::text AS total, t.n AS combinations
       FROM g, t ORDER BY g.usage DESC, g.tags COLLATE "C" LIMIT :limit`,
    {
      account: q.accountId,
      orgs: JSON.stringify(q.orgs),
      product: q.product,
      from: q.from,
      to: q.to,
      filters: JSON.stringify(q.filters),
      limit: q.limit,
    },
  );
  return {
    rows: rows.map((r: TagRow) => ({ tags: r.tags, usage: r.usage, share: r.share })),
    total: rows[0]?.total ?? '0',
    combinations: rows[0]?.combinations ?? 0,
  };
}

export interface SubtreeEstimate {
  as_of: Date;
  computed_at: Date;
  month: string;
  /** Per product, the orgs' month-to-date and projected usage summed (products none of them has are absent). */
  products: { usage_type: string; mtd: string; projected: string }[];
}

/** The latest estimate run, with the orgs' rows of it summed per product in Postgres. */
export async function subtreeEstimate(
  db: Knex,
  q: { accountId: string; orgs: readonly string[] },
): Promise<SubtreeEstimate | undefined> {
  const { rows } = await db.raw(
    `WITH r AS (SELECT as_of, computed_at, to_char(month, 'YYYY-MM') AS month FROM estimate_runs
                 WHERE account_id = :account ORDER BY as_of DESC LIMIT 1)
     SELECT r.as_of, r.computed_at, r.month, e.usage_type,
            sum(e.mtd_usage)::text AS mtd, sum(e.projected_usage)::text AS projected
       FROM r LEFT JOIN estimate_orgs e
         ON e.account_id = :account AND e.as_of = r.as_of
        AND e.public_id IN (SELECT jsonb_array_elements_text(CAST(:orgs AS jsonb)))
      GROUP BY r.as_of, r.computed_at, r.month, e.usage_type
      ORDER BY e.usage_type COLLATE "C"`,
    { account: q.accountId, orgs: JSON.stringify(q.orgs) },
  );
  const first = rows[0];
  if (!first) return undefined;
  return {
    as_of: first.as_of,
    computed_at: first.computed_at,
    month: first.month,
    products: rows
      .filter((r: { usage_type: string | null }) => r.usage_type !== null)
      .map((r: { usage_type: string; mtd: string; projected: string }) => ({
        usage_type: r.usage_type,
        mtd: r.mtd,
        projected: r.projected,
      })),
  };
}
