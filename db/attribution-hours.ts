import type { Knex } from 'knex';
import type { Cell } from '../domain/attribution';
import { ATTRIBUTED_FACTS } from './attribution-day-rows';

/** Attributed hours of one product over a range of hours (Datadog's hourly usage attribution), keyset-paged. */
export interface HourRow {
  hour: string;
  public_id: string;
  org_name: string;
  tag_keys: string[];
  cells: Cell[];
  total_usage: string;
  updated_at: string;
}

/** Where a page ends: the last row's hour, org and cells; the next page starts after it. */
export interface HourKey {
  hour: string;
  public_id: string;
  cells: Cell[];
}

export function hourKeyOf(value: unknown): HourKey | undefined {
  const v = value as Partial<HourKey> | null;
  if (!v || typeof v.hour !== 'string' || typeof v.public_id !== 'string' || !Array.isArray(v.cells))
    return undefined;
  if (!v.cells.every((c) => c === null || typeof c === 'string')) return undefined;
  return { hour: v.hour, public_id: v.public_id, cells: v.cells };
}

/**
 * Grouped from the facts of the attributed days through their cell dictionaries (one day's tag keys each), so a
 * page costs the hours it covers, wherever it starts.
 */
export async function attributedHours(
  db: Knex,
  q: {
    accountId: string;
    product: string;
    fromMs: number;
    toMs: number;
    orgs?: readonly string[];
    breakdownKeys?: readonly string[];
    after?: HourKey;
    limit: number;
  },
): Promise<HourRow[]> {
  const keys = q.breakdownKeys;
  const cells = keys
    ? `ARRAY[${keys.map(() => 'c.cells[array_position(r.tag_keys, ?::text)]').join(', ')}]::text[]`
    : 'c.cells';
  const tagKeys = keys ? `ARRAY[${keys.map(() => '?::text').join(', ')}]::text[]` : 'r.tag_keys';
  const { rows } = await db.raw(
    `SELECT * FROM (
       SELECT f.hour AS at, to_char(f.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00:00"+00:00"') AS hour,
              o.public_id, o.name AS org_name, ${tagKeys} AS tag_keys, ${cells} AS cells,
              trim_scale(sum(f.value))::text AS total_usage, max(r.attributed_at) AS updated_at
         FROM ${ATTRIBUTED_FACTS}
        WHERE r.account_id = ? AND f.hour >= ? AND f.hour < ?
          AND f.product_id = (SELECT p.id FROM products p WHERE p.account_id = r.account_id AND p.code = ?)
          ${q.orgs ? 'AND o.public_id IN (SELECT jsonb_array_elements_text(?::jsonb))' : ''}
        GROUP BY f.hour, o.public_id, o.name, 5, 6
     ) x
     ${q.after ? 'WHERE (x.at, x.public_id COLLATE "C", x.cells COLLATE "C") > (?::timestamptz, ?::text, coalesce((SELECT array_agg(e ORDER BY i) FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY AS k(e, i)), ARRAY[]::text[]))' : ''}
      ORDER BY x.at, x.public_id COLLATE "C", x.cells COLLATE "C"
      LIMIT ?`,
    [
      ...(keys ?? []),
      ...(keys ?? []),
      q.accountId,
      new Date(Math.max(q.fromMs, q.after ? Date.parse(q.after.hour) : q.fromMs)).toISOString(),
      new Date(q.toMs).toISOString(),
      q.product,
      ...(q.orgs ? [JSON.stringify(q.orgs)] : []),
      ...(q.after ? [q.after.hour, q.after.public_id, JSON.stringify(q.after.cells)] : []),
      q.limit,
    ],
  );
  return rows.map((r: HourRow & { updated_at: Date; at: Date }) => {
    const { at: _at, ...row } = r;
    return { ...row, updated_at: new Date(r.updated_at).toISOString() };
  });
}
