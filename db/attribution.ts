import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { buildDayHours } from './attribution-day-rows';
import { recordFiles, writeDayFiles, type ExportedFile, type FileOptions } from './attribution-files';

/** Owner of attribution_cells, attribution_daily, attribution_totals, attribution_runs, attribution_pending. */

export interface AttributeInput {
  accountId: string;
  day: string;
  /** Use the newest tag keys instead of those in effect on the day (restating history). */
  restateTags?: boolean;
}

export interface AttributeResult {
  accountId: string;
  day: string;
  tagKeys: string[];
  periodStart: string;
  periodEnd: string;
  hours: number;
  facts: number;
  hourlyRows: number;
  dailyRows: number;
  factsWatermark: string | null;
  /** The day's files, written and checked in the same snapshot, when attributeDay was given an output folder. */
  files?: ExportedFile[];
}

export interface Mismatch {
  public_id: string;
  usage_type: string;
  facts_total: string;
  rows_total: string;
}

/**
 * Attributes one day of one account in a single REPEATABLE READ transaction: the day's cell dictionary, daily
 * rows and totals are replaced, and the hourly rows (the facts grouped by org, product, hour and cells, not
 * stored: readers group the facts through the dictionary) are checked against the facts read in the same
 * snapshot (Σ rows = Σ facts per org and product, untagged included). Given an output folder, the day's TSV
 * files are written from those hourly rows and checked against the totals in the same snapshot too.
 * A mismatch rolls everything back and fails for good. The day's pending mark is cleared only if this snapshot
 * saw it: a batch committed meanwhile leaves the day pending (or makes this transaction retry on conflict).
 */
export async function attributeDay(
  db: Knex,
  input: AttributeInput,
  files?: FileOptions,
): Promise<AttributeResult> {
  return withDayLock(db, input, (connection) => attributeLocked(db, input, files, connection));
}

/**
 * One attribution of an account's day at a time, whoever starts it (a schedule's workflow, a backfill, a close):
 * a session advisory lock per account and day, taken on the connection the transaction then runs on, before its
 * snapshot — the second run waits, then attributes the day again from what the first committed and what came
 * since. Inside an outer transaction (a dry run) the lock is the transaction's own.
 */
async function withDayLock<T>(
  db: Knex,
  input: { accountId: string; day: string },
  fn: (connection?: unknown) => Promise<T>,
): Promise<T> {
  const key = [`orgtally.attribution`, `${input.accountId}/${input.day}`];
  if ((db as Knex.Transaction).isTransaction) {
    await db.raw('SELECT pg_advisory_xact_lock(hashtext(?), hashtext(?))', key);
    return fn();
  }
  const conn = (await db.client.acquireConnection()) as PoolClient;
  try {
    await conn.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', key);
    try {
      return await fn(conn);
    } finally {
      // A failed unlock means a broken session, and the server drops a broken session's locks.
      await conn.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', key).catch(() => undefined);
    }
  } finally {
    await db.client.releaseConnection(conn);
  }
}

async function attributeLocked(
  db: Knex,
  input: AttributeInput,
  files: FileOptions | undefined,
  connection: unknown,
): Promise<AttributeResult> {
  return db.transaction(
    async (trx) => {
      const account = await trx('accounts').where({ id: input.accountId }).first('timezone');
      if (!account) throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${input.accountId}"`);
      const keysRow = await trx('attribution_tag_keys')
        .where({ account_id: input.accountId })
        .modify((q) => {
          if (!input.restateTags) q.where('effective_from', '<=', input.day);
        })
        .orderBy('effective_from', 'desc')
        .first('tag_keys', trx.raw(`to_char(effective_from, 'YYYY-MM-DD') AS effective_from`));
      const tagKeys: string[] = keysRow?.tag_keys ?? [];
      const { rows: bounds } = await trx.raw(
        `SELECT (?::date)::timestamp AT TIME ZONE ? AS start, (?::date + 1)::timestamp AT TIME ZONE ? AS end`,
        [input.day, account.timezone, input.day, account.timezone],
      );
      const { start, end } = bounds[0] as { start: Date; end: Date };
      const key = { account_id: input.accountId, day: input.day };
      for (const t of ['attribution_daily', 'attribution_totals', 'attribution_cells'])
        await trx(t).where(key).delete();
      // JIT compiling these day-sized plans costs more than it saves (measured on the month-end statements).
      await trx.raw('SET LOCAL jit = off');

      const params = { account: input.accountId, day: input.day, start, end, keys: tagKeys };
      // The day's facts are summed once per (org, product, tag set) (~20× fewer rows than facts on the benchmark
      // day): the daily rows and the facts side of the totals come from these sums, independently of the hourly
      // rows, and the totals check compares the three.
      await trx.raw(
        `CREATE TEMP TABLE day_sums ON COMMIT DROP AS
         SELECT f.org_id, f.product_id, f.tag_set_id, count(*)::int AS n, sum(f.value) AS total
           FROM usage_facts f
          WHERE f.hour >= :start AND f.hour < :end
            AND f.org_id IN (SELECT o.id FROM orgs o WHERE o.account_id = :account)
          GROUP BY f.org_id, f.product_id, f.tag_set_id`,
        params,
      );
      // The day's cell dictionary: cells computed once per distinct tag set, each combination an integer.
      await trx.raw(
        `INSERT INTO attribution_cells (account_id, day, tag_set_id, combo, cells)
         SELECT :account, :day, x.id, dense_rank() OVER (ORDER BY x.cells::text COLLATE "C"), x.cells
           FROM (SELECT t.id, attribution_cells_of(t.tags, CAST(:keys AS text[])) AS cells
                   FROM tag_sets t WHERE t.id IN (SELECT DISTINCT s.tag_set_id FROM day_sums s)) x`,
        params,
      );
      await buildDayHours(trx, params);
      const { rows: hourlyCount } = await trx.raw('SELECT coalesce(sum(n), 0)::int AS n FROM hourly_sums');
      const daily = await trx.raw(
        `INSERT INTO attribution_daily (account_id, day, org_id, product_id, cells, total_usage)
         SELECT :account, :day, s.org_id, s.product_id, c.cells, sum(s.total)
           FROM day_sums s
           JOIN attribution_cells c ON c.account_id = :account AND c.day = :day AND c.tag_set_id = s.tag_set_id
          GROUP BY s.org_id, s.product_id, c.cells`,
        params,
      );
      await trx.raw(
        `INSERT INTO attribution_totals (account_id, day, org_id, product_id, facts, facts_total, rows_total,
                                         hourly_rows)
         SELECT :account, :day, coalesce(f.org_id, h.org_id), coalesce(f.product_id, h.product_id),
                coalesce(f.n, 0), coalesce(f.total, 0), coalesce(h.total, 0), coalesce(h.n, 0)
           FROM (SELECT s.org_id, s.product_id, sum(s.n)::int AS n, sum(s.total) AS total
                   FROM day_sums s GROUP BY s.org_id, s.product_id) f
           FULL JOIN hourly_sums h ON h.org_id = f.org_id AND h.product_id = f.product_id`,
        params,
      );
      // The daily rows must add up to the same totals as the hourly rows they summarize.
      const { rows: dailyOff } = await trx.raw(
        `SELECT o.public_id, p.code AS usage_type, coalesce(h.total, 0)::text AS facts_total,
                coalesce(d.total, 0)::text AS rows_total
           FROM hourly_sums h
           FULL JOIN (SELECT x.org_id, x.product_id, sum(x.total_usage) AS total
                        FROM attribution_daily x WHERE x.account_id = :account AND x.day = :day
                       GROUP BY x.org_id, x.product_id) d
             ON d.org_id = h.org_id AND d.product_id = h.product_id
           JOIN orgs o ON o.id = coalesce(h.org_id, d.org_id)
           JOIN products p ON p.id = coalesce(h.product_id, d.product_id)
          WHERE coalesce(h.total, 0) <> coalesce(d.total, 0)`,
        params,
      );
      if (dailyOff.length) {
        throw new OrgtallyError(
          ErrorType.ReconciliationMismatch,
          `daily rows of ${input.accountId} ${input.day} do not add up to the hourly rows: ${describe(dailyOff)}`,
        );
      }
      const mismatches = await totalsMismatches(trx, input.accountId, input.day);
      if (mismatches.length) {
        throw new OrgtallyError(
          ErrorType.ReconciliationMismatch,
          `attribution of ${input.accountId} ${input.day} does not add up: ${describe(mismatches)}`,
        );
      }
      const { rows: stats } = await trx.raw(
        `SELECT coalesce(sum(t.facts), 0)::int AS facts,
                (SELECT max(b.id) FROM ingest_batches b)::text AS watermark,
                extract(epoch FROM (CAST(:end AS timestamptz) - CAST(:start AS timestamptz)))::int / 3600 AS hours
           FROM attribution_totals t WHERE t.account_id = :account AND t.day = :day`,
        params,
      );
      const s = stats[0] as { facts: number; watermark: string | null; hours: number };
      const run = {
        ...key,
        tag_keys: tagKeys,
        tag_keys_from: keysRow?.effective_from ?? null,
        restated_tags: Boolean(input.restateTags),
        period_start: start,
        period_end: end,
        facts_watermark: s.watermark,
        facts: s.facts,
        hourly_rows: Number(hourlyCount[0]?.n ?? 0),
        daily_rows: daily.rowCount ?? 0,
        attributed_at: trx.fn.now(),
        files: null,
        reconciled_at: null,
      };
      // Every write that can conflict with a concurrent ingest comes before the files are renamed into place:
      // what is on disk is what commits (the update that records the files touches this transaction's row only).
      await trx('attribution_runs').insert(run).onConflict(['account_id', 'day']).merge();
      await trx('attribution_pending').where(key).delete();
      const exported = files
        ? await writeDayFiles(trx, { account: input.accountId, day: input.day, start, end, tagKeys }, files)
        : undefined;
      if (exported) await recordFiles(trx, { account: input.accountId, day: input.day }, exported);
      return {
        accountId: input.accountId,
        day: input.day,
        tagKeys,
        periodStart: start.toISOString(),
        periodEnd: end.toISOString(),
        hours: s.hours,
        facts: s.facts,
        hourlyRows: run.hourly_rows,
        dailyRows: run.daily_rows,
        factsWatermark: s.watermark,
        ...(exported ? { files: exported } : {}),
      };
    },
    { isolationLevel: 'repeatable read', ...(connection ? { connection } : {}) },
  );
}

export async function totalsMismatches(db: Knex, accountId: string, day: string): Promise<Mismatch[]> {
  return db('attribution_totals as t')
    .join('orgs as o', 'o.id', 't.org_id')
    .join('products as p', 'p.id', 't.product_id')
    .where({ 't.account_id': accountId, 't.day': day })
    .whereRaw('t.facts_total <> t.rows_total')
    .select('o.public_id', 'p.code as usage_type', 't.facts_total', 't.rows_total');
}

export function describe(m: Mismatch[]): string {
  return m
    .slice(0, 5)
    .map((x) => `${x.public_id}/${x.usage_type} facts ${x.facts_total} ≠ rows ${x.rows_total}`)
    .join('; ')
    .concat(m.length > 5 ? `; and ${m.length - 5} more` : '');
}

/** Marks the days a batch touched (in each account's zone) as pending attribution, inside the batch's transaction. */
export const MARK_PENDING_SQL = `
  INSERT INTO attribution_pending (account_id, day, batch_id)
  SELECT DISTINCT x.account_id, (x.hour AT TIME ZONE a.timezone)::date, $2::bigint
    FROM jsonb_to_recordset($1::jsonb) AS x(account_id text, hour timestamptz)
    JOIN accounts a ON a.id = x.account_id
  ON CONFLICT (account_id, day) DO UPDATE
    SET batch_id = GREATEST(attribution_pending.batch_id, EXCLUDED.batch_id), marked_at = now()`;

export async function pendingDays(db: Knex, accountId: string): Promise<string[]> {
  const rows = await db('attribution_pending')
    .where({ account_id: accountId })
    .orderBy('day')
    .select(db.raw(`to_char(day, 'YYYY-MM-DD') AS day`));
  return rows.map((r: { day: string }) => r.day);
}
