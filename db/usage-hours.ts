import type { Knex } from 'knex';

/** Hourly usage per org and product (the rollup of the facts; Datadog's v2 hourly usage), paged by offset. */
export interface UsageHourRow {
  hour: string;
  public_id: string;
  org_name: string;
  product: string;
  total: string;
}

export async function usageHours(
  db: Knex,
  q: {
    accountId: string;
    fromMs: number;
    toMs: number;
    products?: readonly string[];
    orgs?: readonly string[];
    offset: number;
    limit: number;
  },
): Promise<UsageHourRow[]> {
  const { rows } = await db.raw(
    `SELECT to_char(h.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00:00"+00:00"') AS hour, o.public_id,
            o.name AS org_name, p.code AS product, trim_scale(h.total)::text AS total
       FROM usage_hourly h JOIN orgs o ON o.id = h.org_id JOIN products p ON p.id = h.product_id
      WHERE h.account_id = ? AND h.hour >= ? AND h.hour < ?
        ${q.products ? 'AND p.code IN (SELECT jsonb_array_elements_text(?::jsonb))' : ''}
        ${q.orgs ? 'AND o.public_id IN (SELECT jsonb_array_elements_text(?::jsonb))' : ''}
      ORDER BY h.hour, o.public_id COLLATE "C", p.code COLLATE "C"
     OFFSET ? LIMIT ?`,
    [
      q.accountId,
      new Date(q.fromMs).toISOString(),
      new Date(q.toMs).toISOString(),
      ...(q.products ? [JSON.stringify(q.products)] : []),
      ...(q.orgs ? [JSON.stringify(q.orgs)] : []),
      q.offset,
      q.limit,
    ],
  );
  return rows;
}
