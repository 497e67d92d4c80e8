import type { Knex } from 'knex';
import { tagsObject, type Cell } from '../domain/attribution';

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
  const rows = await db('attribution_hourly as h')
    .join('orgs as o', 'o.id', 'h.org_id')
    .join('products as p', 'p.id', 'h.product_id')
    .where({ 'h.account_id': q.accountId, 'h.day': q.day })
    .modify((b) => {
      if (q.product) b.where('p.code', q.product);
      if (q.orgs) b.whereIn('o.public_id', q.orgs);
    })
    .orderBy([{ column: 'p.code' }, { column: 'o.public_id' }, { column: 'h.hour' }, { column: 'h.cells' }])
    .select(
      'o.public_id',
      'o.name as org_name',
      'p.code as usage_type',
      db.raw(`to_char(h.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00:00"Z"') AS hour`),
      'h.cells',
      db.raw('trim_scale(h.total_usage)::text AS total_usage'),
    );
  return {
    tagKeys: run.tag_keys,
    rows: rows.map((r: AttributionRow & { cells: Cell[] }) => ({
      ...r,
      tags: tagsObject(run.tag_keys, r.cells),
    })),
  };
}
