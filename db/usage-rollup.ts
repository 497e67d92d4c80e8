import type { Knex } from 'knex';

/**
 * Owner of usage_hourly, usage_daily and rollup_batches: the rollups estimates and alerts read. Estimates must be
 * cheap every hour, so they never read a month of raw facts: `refreshRollup` recomputes only the hours touched by
 * batches it has not rolled up yet (facts → usage_hourly, then those days → usage_daily).
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
