import type { Knex } from 'knex';

/**
 * Owner of usage_hourly, usage_daily and rollup_batches: the rollups estimates and alerts read. Estimates must be
 * cheap every hour, so they never read a month of raw facts: `refreshRollup` recomputes only the hours touched by
 * batches it has not rolled up yet (facts → usage_hourly) and merges them into their days' usage_daily rows.
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
    // The touched hours recomputed from every fact of theirs, and what usage_hourly held for them before.
    await trx.raw(
      `CREATE TEMP TABLE ru_new ON COMMIT DROP AS
       SELECT o.account_id, f.hour, f.org_id, f.product_id, sum(f.value) AS total
         FROM usage_facts f JOIN orgs o ON o.id = f.org_id
        WHERE f.hour IN (SELECT hour FROM ru_hours)
        GROUP BY o.account_id, f.hour, f.org_id, f.product_id`,
    );
    // (account, hour) pairs, so the delete walks the primary key instead of every hourly row
    await trx.raw(
      `CREATE TEMP TABLE ru_old ON COMMIT DROP AS
       WITH gone AS (DELETE FROM usage_hourly u USING ru_hours h, accounts a
                      WHERE u.account_id = a.id AND u.hour = h.hour RETURNING u.*)
       SELECT * FROM gone`,
    );
    await trx.raw(
      `INSERT INTO usage_hourly (account_id, hour, org_id, product_id, total)
       SELECT account_id, hour, org_id, product_id, total FROM ru_new`,
    );
    await trx.raw(
      `CREATE TEMP TABLE ru_days ON COMMIT DROP AS
       SELECT account_id, timezone, day, keep,
              day::timestamp AT TIME ZONE timezone AS day_start,
              (day + 1)::timestamp AT TIME ZONE timezone AS day_end
         FROM (SELECT DISTINCT a.id AS account_id, a.timezone, (x.hour AT TIME ZONE a.timezone)::date AS day,
                      floor(a.p99_drop_percent * ${MAX_MONTH_HOURS} / 100)::int + 1 AS keep
                 FROM (SELECT account_id, hour FROM ru_new UNION SELECT account_id, hour FROM ru_old) x
                 JOIN accounts a ON a.id = x.account_id) d`,
    );
    await trx.raw('ANALYZE ru_days');
    // A day's row per org and product is kept up to date incrementally — an hour's estimate must not re-read
    // the whole day — where the touched hours are new to it: Σ, count, max, the latest hour and the top values
    // merge exactly. Where a touched hour had a value before (late or replaced data), that org and product's
    // day is recomputed from its hours.
    await trx.raw(
      `CREATE TEMP TABLE ru_redo ON COMMIT DROP AS
       SELECT DISTINCT r.account_id, r.day, o.org_id, o.product_id
         FROM ru_old o JOIN ru_days r ON r.account_id = o.account_id AND o.hour >= r.day_start AND o.hour < r.day_end`,
    );
    // A day's top list shorter than the account keeps now (its p99 drop raised since) cannot be merged into.
    await trx.raw(
      `INSERT INTO ru_redo (account_id, day, org_id, product_id)
       SELECT d.account_id, d.day, d.org_id, d.product_id
         FROM usage_daily d JOIN ru_days r ON r.account_id = d.account_id AND r.day = d.day
        WHERE cardinality(d.top) < least(r.keep, d.hours)
       EXCEPT SELECT account_id, day, org_id, product_id FROM ru_redo`,
    );
    const redo = Number((await trx.raw('SELECT count(*) AS n FROM ru_redo')).rows[0].n);
    if (redo > 0) {
      await trx.raw(
        `DELETE FROM usage_daily d USING ru_redo x
          WHERE d.account_id = x.account_id AND d.day = x.day AND d.org_id = x.org_id AND d.product_id = x.product_id`,
      );
      // Only the hours of the orgs and products to redo, not the whole day of every org.
      await trx.raw(
        `INSERT INTO usage_daily (account_id, day, org_id, product_id, hours, total, peak, last_hour, last_value, top)
         SELECT d.* FROM (${dailySql(
           `(SELECT u.* FROM usage_hourly u
              JOIN (SELECT DISTINCT account_id, org_id, product_id FROM ru_redo) g
                ON g.account_id = u.account_id AND g.org_id = u.org_id AND g.product_id = u.product_id)`,
           'ru_days',
         )}) d
          WHERE (d.account_id, d.day, d.org_id, d.product_id) IN (SELECT * FROM ru_redo)`,
      );
    }
    await trx.raw(
      `INSERT INTO usage_daily AS d (account_id, day, org_id, product_id, hours, total, peak, last_hour, last_value,
                                     top)
       SELECT n.* FROM (${dailySql('ru_new', 'ru_days')}) n
        WHERE NOT EXISTS (SELECT 1 FROM ru_redo x WHERE x.account_id = n.account_id AND x.day = n.day
                             AND x.org_id = n.org_id AND x.product_id = n.product_id)
       ON CONFLICT (account_id, day, org_id, product_id) DO UPDATE SET
         hours = d.hours + EXCLUDED.hours,
         total = d.total + EXCLUDED.total,
         peak = GREATEST(d.peak, EXCLUDED.peak),
         last_hour = GREATEST(d.last_hour, EXCLUDED.last_hour),
         last_value = CASE WHEN EXCLUDED.last_hour > d.last_hour THEN EXCLUDED.last_value ELSE d.last_value END,
         -- A full top list whose smallest value is at least the new hours' largest stays as it is.
         top = CASE WHEN cardinality(d.top) >= (SELECT r.keep FROM ru_days r
                                                  WHERE r.account_id = d.account_id AND r.day = d.day)
                         AND EXCLUDED.top[1] <= d.top[cardinality(d.top)] THEN d.top
                    ELSE (SELECT array_agg(v ORDER BY v DESC)
                            FROM (SELECT v FROM unnest(d.top || EXCLUDED.top) AS v ORDER BY v DESC
                                   LIMIT cardinality(d.top) + cardinality(EXCLUDED.top)) t)[1:(SELECT r.keep
                                     FROM ru_days r WHERE r.account_id = d.account_id AND r.day = d.day)] END`,
    );
    const days = Number((await trx.raw('SELECT count(*) AS n FROM ru_days')).rows[0].n);
    const hours = Number((await trx.raw('SELECT count(*) AS n FROM ru_hours')).rows[0].n);
    await trx.raw('INSERT INTO rollup_batches (batch_id) SELECT id FROM ru_batches ON CONFLICT DO NOTHING');
    return { batches, hours, days };
  });
}

/**
 * Every usage_daily row of an account again from its usage_hourly rows: when its time zone (day bounds) or its p99
 * drop (how many top values a day keeps) changes, the rows the hourly rollup merges into no longer fit. Rare, and
 * as heavy as the account's hourly rows.
 */
export async function rebuildDaily(trx: Knex.Transaction, accountId: string): Promise<void> {
  await trx.raw(
    `CREATE TEMP TABLE rd_days ON COMMIT DROP AS
     SELECT a.id AS account_id, d.day, floor(a.p99_drop_percent * ${MAX_MONTH_HOURS} / 100)::int + 1 AS keep,
            d.day::timestamp AT TIME ZONE a.timezone AS day_start,
            (d.day + 1)::timestamp AT TIME ZONE a.timezone AS day_end
       FROM accounts a
       JOIN (SELECT DISTINCT (u.hour AT TIME ZONE a2.timezone)::date AS day
               FROM usage_hourly u JOIN accounts a2 ON a2.id = u.account_id WHERE u.account_id = :account) d ON true
      WHERE a.id = :account`,
    { account: accountId },
  );
  await trx('usage_daily').where({ account_id: accountId }).delete();
  await trx.raw(
    `INSERT INTO usage_daily (account_id, day, org_id, product_id, hours, total, peak, last_hour, last_value, top)
     ${dailySql('usage_hourly', 'rd_days')}`,
  );
  await trx.raw('DROP TABLE rd_days');
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
