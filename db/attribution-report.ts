import type { Knex } from 'knex';
import { tagsObject, type Cell } from '../domain/attribution';
import { ATTRIBUTED_FACTS } from './attribution-day-rows';

export interface AttributionRow {
  public_id: string;
  org_name: string;
  usage_type: string;
  hour: string;
  tags: Record<string, string[] | null>;
  total_usage: string;
}

/** The attributed hourly rows of a day (optionally one product), in file order, with Datadog field names. */
export async function attributionRows(
  db: Knex,
  q: { accountId: string; day: string; product?: string; orgs?: string[] },
): Promise<{ tagKeys: string[]; rows: (AttributionRow & { cells: Cell[] })[] } | undefined> {
  const run = await db('attribution_runs').where({ account_id: q.accountId, day: q.day }).first('tag_keys');
  if (!run) return undefined;
  const { rows } = await db.raw(
    `SELECT o.public_id, o.name AS org_name, p.code AS usage_type,
            to_char(f.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00:00"Z"') AS hour, c.cells,
            trim_scale(sum(f.value))::text AS total_usage
       FROM ${ATTRIBUTED_FACTS} JOIN products p ON p.id = f.product_id
      WHERE r.account_id = :account AND r.day = :day
        ${q.product ? 'AND p.code = :product' : ''}
        ${q.orgs ? 'AND o.public_id IN (SELECT jsonb_array_elements_text(:orgs::jsonb))' : ''}
      GROUP BY p.code, o.public_id, o.name, f.hour, c.cells
      ORDER BY p.code COLLATE "C", o.public_id COLLATE "C", f.hour, c.cells::text COLLATE "C"`,
    {
      account: q.accountId,
      day: q.day,
      ...(q.product ? { product: q.product } : {}),
      ...(q.orgs ? { orgs: JSON.stringify(q.orgs) } : {}),
    },
  );
  return {
    tagKeys: run.tag_keys,
    rows: rows.map((r: AttributionRow & { cells: Cell[] }) => ({
      ...r,
      tags: tagsObject(run.tag_keys, r.cells),
    })),
  };
}
