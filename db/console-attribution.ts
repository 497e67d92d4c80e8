import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { dailyHeader } from '../domain/attribution';
import { sheetCellSql } from './sql';
import { ATTRIBUTED_FACTS } from './attribution-day-rows';

/**
 * Reads of the console's Attribution page: the tag-key history, what a tag-key change would restate, and the
 * attributed days with their daily files. Reads only; the change itself goes through applyAccountSpec.
 */

export interface TagKeyEntry {
  effective_from: string;
  tag_keys: string[];
}

/** Every tag-key list of the account with the day it took effect, oldest first (the API's GET tag-keys). */
export async function tagKeyHistory(db: Knex, accountId: string): Promise<TagKeyEntry[]> {
  return db('attribution_tag_keys')
    .where({ account_id: accountId })
    .orderBy('effective_from')
    .select(db.raw(`to_char(effective_from, 'YYYY-MM-DD') AS effective_from`), 'tag_keys');
}

export async function accountZone(db: Knex, accountId: string): Promise<string> {
  const a = await db('accounts').where({ id: accountId }).first('timezone');
  return (a?.timezone as string | undefined) ?? 'UTC';
}

/** One month a tag-key change reaches: its attributed days the new keys would split differently. */
export interface RestatedMonth {
  month: string;
  /** Attributed days in the change's span whose recorded keys differ from the new ones. */
  days: number;
  first_day: string | null;
  last_day: string | null;
  /** Attributed days of the month outside the span whose keys differ: the month would hold two key lists. */
  other_days: number;
  /** The month's latest month-end version (null: not closed). */
  version: number | null;
  status: 'provisional' | 'final' | null;
}

/**
 * What keys `keys` from `from` would restate: the change covers [from, the next list's day), so every day of that
 * span already attributed with other keys is split differently when it is attributed again, and a closed month
 * holding such days gets a new version when it is closed again. The month of `from` is listed too when days before
 * it keep other keys: the close refuses a month attributed with two key lists (db/month-end.ts).
 */
export async function tagKeyRestatement(
  db: Knex,
  q: { accountId: string; from: string; keys: readonly string[] },
): Promise<RestatedMonth[]> {
  const { rows } = await db.raw(
    `WITH span AS (
       SELECT CAST(:from AS date) AS s,
              (SELECT min(effective_from) FROM attribution_tag_keys
                WHERE account_id = :account AND effective_from > CAST(:from AS date)) AS e
     ), runs AS (
       SELECT r.day, r.tag_keys IS DISTINCT FROM CAST(:keys AS text[]) AS differs,
              (r.day >= span.s AND (span.e IS NULL OR r.day < span.e)) AS covered
         FROM attribution_runs r, span WHERE r.account_id = :account
     ), m AS (
       SELECT date_trunc('month', day)::date AS month,
              count(*) FILTER (WHERE covered AND differs)::int AS days,
              min(day) FILTER (WHERE covered AND differs) AS first_day,
              max(day) FILTER (WHERE covered AND differs) AS last_day,
              count(*) FILTER (WHERE NOT covered AND differs)::int AS other_days
         FROM runs GROUP BY 1
     )
     SELECT to_char(m.month, 'YYYY-MM') AS month, m.days, to_char(m.first_day, 'YYYY-MM-DD') AS first_day,
            to_char(m.last_day, 'YYYY-MM-DD') AS last_day, m.other_days, v.version, v.status
       FROM m CROSS JOIN span
       LEFT JOIN LATERAL (SELECT version, status FROM month_end_versions
                           WHERE account_id = :account AND month = m.month
                           ORDER BY version DESC LIMIT 1) v ON true
      WHERE m.days > 0 OR (m.month = date_trunc('month', span.s)::date AND m.other_days > 0)
      ORDER BY m.month`,
    { account: q.accountId, from: q.from, keys: q.keys as string[] },
  );
  return rows;
}

export interface AttributedDay {
  day: string;
  tag_keys: string[];
  restated_tags: boolean;
  attributed_at: string;
  /** The files as reconciled (null: not exported yet). */
  files: { product: string; file: string; rows: number; sha256: string }[] | null;
}

/** The attributed days of a month (calendar days of the account's zone), oldest first. */
export async function attributedDays(db: Knex, accountId: string, month: string): Promise<AttributedDay[]> {
  const rows = await db('attribution_runs')
    .where({ account_id: accountId })
    .where('day', '>=', `${month}-01`)
    .where('day', '<', db.raw(`CAST(? AS date) + interval '1 month'`, [`${month}-01`]))
    .orderBy('day')
    .select(
      db.raw(`to_char(day, 'YYYY-MM-DD') AS day`),
      'tag_keys',
      'restated_tags',
      'attributed_at',
      'files',
    );
  return rows.map((r: AttributedDay & { attributed_at: Date }) => ({
    ...r,
    attributed_at: new Date(r.attributed_at).toISOString(),
  }));
}

export async function attributedDay(
  db: Knex,
  accountId: string,
  day: string,
): Promise<{ tag_keys: string[] } | undefined> {
  return db('attribution_runs').where({ account_id: accountId, day }).first('tag_keys');
}

/**
 * One product's daily file of a day, streamed straight out of Postgres: the day's facts grouped through its cell
 * dictionary, with the export's header, columns, escaping and C-collation order (db/attribution-files.ts), so the
 * bytes of the file on disk while the day is not pending, limited to
 * `orgs` when given: a child org's user gets its own orgs' rows, never the account's file. The connection goes
 * back to the pool when the stream ends, fails or is closed by the reader.
 */
export function openDailyFile(
  db: Knex,
  q: {
    accountId: string;
    day: string;
    productId: number;
    tagKeys: readonly string[];
    orgs?: readonly string[];
  },
): Readable {
  const header = `${dailyHeader(q.tagKeys)}\n`;
  // The connection is taken when the first byte is read: a stream closed before that holds none.
  async function* bytes(): AsyncGenerator<Buffer | string> {
    yield header;
    const conn = (await db.client.acquireConnection()) as PoolClient;
    try {
      for await (const chunk of conn.query(copyTo(dailyCopy(conn, q)))) yield chunk as Buffer;
    } finally {
      await db.client.releaseConnection(conn);
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

function dailyCopy(
  conn: PoolClient,
  q: {
    accountId: string;
    day: string;
    productId: number;
    tagKeys: readonly string[];
    orgs?: readonly string[];
  },
): string {
  const lit = (v: string) => conn.escapeLiteral(v);
  const cells = q.tagKeys.map((_, i) => sheetCellSql(`c.cells[${i + 1}]`)).join(', ');
  const orgs = q.orgs
    ? `AND o.public_id IN (SELECT jsonb_array_elements_text(${lit(JSON.stringify(q.orgs))}::jsonb))`
    : '';
  // COPY takes no parameters: every literal is escaped by the driver, the product id is a number.
  return `COPY (
    SELECT o.public_id, ${sheetCellSql('o.name')}, to_char(f.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:00:00'),
           ${cells ? `${cells},` : ''} trim_scale(sum(f.value))
      FROM ${ATTRIBUTED_FACTS}
     WHERE r.account_id = ${lit(q.accountId)} AND r.day = ${lit(q.day)}::date
       AND f.product_id = ${Number(q.productId)} ${orgs}
     GROUP BY o.public_id, o.name, f.hour, c.cells
     ORDER BY o.public_id COLLATE "C", f.hour, c.cells::text COLLATE "C"
  ) TO STDOUT WITH (FORMAT text, NULL '')`;
}

export async function productIds(db: Knex, accountId: string): Promise<Map<string, number>> {
  const rows: { id: number; code: string }[] = await db('products')
    .where({ account_id: accountId })
    .orderBy('code')
    .select('id', 'code');
  return new Map(rows.map((r) => [r.code, r.id]));
}
