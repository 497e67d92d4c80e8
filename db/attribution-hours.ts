import type { Knex } from 'knex';
import type { Cell } from '../domain/attribution';

/** Attributed hours of one product over a range of hours (Datadog's hourly usage attribution), paged by offset. */
export interface HourRow {
  hour: string;
  public_id: string;
  org_name: string;
  tag_keys: string[];
  cells: Cell[];
  total_usage: string;
  updated_at: string;
}

export async function attributedHours(
  db: Knex,
  q: {
    accountId: string;
    product: string;
    fromMs: number;
    toMs: number;
    orgs?: readonly string[];
    breakdownKeys?: readonly string[];
    offset: number;
    limit: number;
  },
): Promise<HourRow[]> {
  const keys = q.breakdownKeys;
  const cells = keys
    ? `ARRAY[${keys.map(() => 'h.cells[array_position(r.tag_keys, ?::text)]').join(', ')}]::text[]`
    : 'h.cells';
  const tagKeys = keys ? `ARRAY[${keys.map(() => '?::text').join(', ')}]::text[]` : 'r.tag_keys';
  const { rows } = await db.raw(
    `SELECT * FROM (
       SELECT h.hour AS at, to_char(h.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00:00"+00:00"') AS hour,
              o.public_id, o.name AS org_name, ${tagKeys} AS tag_keys, ${cells} AS cells,
              trim_scale(sum(h.total_usage))::text AS total_usage, max(r.attributed_at) AS updated_at
         FROM attribution_hourly h
         JOIN attribution_runs r ON r.account_id = h.account_id AND r.day = h.day
         JOIN orgs o ON o.id = h.org_id
         JOIN products p ON p.id = h.product_id
        WHERE h.account_id = ? AND p.code = ? AND h.hour >= ? AND h.hour < ?
          ${q.orgs ? 'AND o.public_id IN (SELECT jsonb_array_elements_text(?::jsonb))' : ''}
        GROUP BY h.hour, o.public_id, o.name, 5, 6
     ) x
      ORDER BY x.at, x.public_id COLLATE "C", x.cells COLLATE "C"
     OFFSET ? LIMIT ?`,
    [
      ...(keys ?? []),
      ...(keys ?? []),
      q.accountId,
      q.product,
      new Date(q.fromMs).toISOString(),
      new Date(q.toMs).toISOString(),
      ...(q.orgs ? [JSON.stringify(q.orgs)] : []),
      q.offset,
      q.limit,
    ],
  );
  return rows.map((r: HourRow & { updated_at: Date }) => ({
    ...r,
    updated_at: new Date(r.updated_at).toISOString(),
  }));
}
