import type { Knex } from 'knex';

/**
 * The hourly attribution of one day, built from the facts and the day's cell dictionary (attribution_cells) into
 * working tables dropped at commit: day_orgs and day_products (each with its rank in file order), day_combos (the
 * day's cell combinations), day_hours,
 * one row per org, product, hour and cell combination, and hourly_sums (its rows and Σ per org and product). Everything is an integer but the sum, so the grouping
 * hashes integers and the files' order (product, public_id in the C collation, hour, cells in text order) is a
 * sort of integers.
 */
export type DayWindow = {
  account: string;
  day: string;
  start: Date;
  end: Date;
};

export async function buildDayHours(trx: Knex.Transaction, w: DayWindow): Promise<void> {
  await trx.raw(
    `CREATE TEMP TABLE day_orgs ON COMMIT DROP AS
     SELECT o.id, o.public_id, o.name, row_number() OVER (ORDER BY o.public_id COLLATE "C")::int AS rank
       FROM orgs o WHERE o.account_id = :account`,
    w,
  );
  await trx.raw(
    `CREATE TEMP TABLE day_products ON COMMIT DROP AS
     SELECT p.id, p.code, row_number() OVER (ORDER BY p.code COLLATE "C")::int AS rank
       FROM products p WHERE p.account_id = :account`,
    w,
  );
  await trx.raw(
    `CREATE TEMP TABLE day_combos ON COMMIT DROP AS
     SELECT DISTINCT c.combo, c.cells FROM attribution_cells c WHERE c.account_id = :account AND c.day = :day`,
    w,
  );
  // The export joins back to names by rank in a nested loop (order kept, lookups memoized): indexes, statistics.
  await trx.raw('CREATE INDEX ON day_orgs (rank)');
  await trx.raw('CREATE INDEX ON day_combos (combo)');
  await trx.raw('ANALYZE day_orgs');
  await trx.raw('ANALYZE day_combos');
  await trx.raw('ANALYZE day_products');
  await trx.raw(
    `CREATE TEMP TABLE day_hours ON COMMIT DROP AS
     SELECT o.rank AS org_rank, p.rank AS product_rank, f.hour, c.combo, sum(f.value) AS total
       FROM usage_facts f
       JOIN attribution_cells c ON c.account_id = :account AND c.day = :day AND c.tag_set_id = f.tag_set_id
       JOIN day_orgs o ON o.id = f.org_id
       JOIN day_products p ON p.id = f.product_id
      WHERE f.hour >= :start AND f.hour < :end
      GROUP BY o.rank, p.rank, f.hour, c.combo`,
    w,
  );
  await trx.raw('ANALYZE day_hours');
  // Hourly rows and their Σ per org and product, by id: the totals check, and the files' row counts.
  await trx.raw(
    `CREATE TEMP TABLE hourly_sums ON COMMIT DROP AS
     SELECT o.id AS org_id, p.id AS product_id, h.n, h.total
       FROM (SELECT org_rank, product_rank, count(*)::int AS n, sum(total) AS total
               FROM day_hours GROUP BY org_rank, product_rank) h
       JOIN day_orgs o ON o.rank = h.org_rank
       JOIN day_products p ON p.rank = h.product_rank`,
  );
}

/**
 * The facts of an account's attributed days with their cells (`f` facts, `r` the day's run, `c.cells` under the
 * day's tag keys, `o` the org): readers group these by org, product, hour and `c.cells` to get attributed hourly
 * rows. Exact: for a day that is not pending, what its files hold. A pending day (late or replaced data since its
 * run) shows its current facts, a tag set new to the day included (its cells computed from the run's tag keys),
 * until it is attributed again; its files and daily rows keep the attributed figures until then.
 */
export const ATTRIBUTED_FACTS = `attribution_runs r
  JOIN usage_facts f ON f.hour >= r.period_start AND f.hour < r.period_end
  JOIN orgs o ON o.id = f.org_id AND o.account_id = r.account_id
  LEFT JOIN attribution_cells dc ON dc.account_id = r.account_id AND dc.day = r.day AND dc.tag_set_id = f.tag_set_id
  CROSS JOIN LATERAL (SELECT coalesce(dc.cells, (SELECT attribution_cells_of(t.tags, r.tag_keys)
                                                   FROM tag_sets t WHERE t.id = f.tag_set_id)) AS cells) c`;
