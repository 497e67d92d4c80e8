import type { Knex } from 'knex';
import type { Cell } from '../domain/attribution';

/**
 * Closed months by org and tag combination, every product of a combination on one row (Datadog's monthly usage
 * and cost attribution): one set-based statement over the latest version of each month, paged by offset.
 */
export interface TagMonthQuery {
  accountId: string;
  fromMonth: string;
  toMonth: string;
  /** Only these orgs (a caller's subtree); undefined: every org. */
  orgs?: readonly string[];
  /** Re-aggregate to these tag keys; undefined: each month's own keys. */
  breakdownKeys?: readonly string[];
  /** Order by this product's figure (usage or cost), else by org. */
  sortProduct?: string;
  sortMeasure: 'usage' | 'cost';
  descending: boolean;
  offset: number;
  limit: number;
}

export interface TagMonthFigures {
  usage: string;
  percentage: string;
  committed_cost: string;
  on_demand_cost: string;
  total_cost: string;
}

export interface TagMonthRow {
  month: string;
  public_id: string;
  org_name: string;
  tag_keys: string[];
  cells: Cell[];
  updated_at: string;
  values: Record<string, TagMonthFigures>;
}

function parts(db: Knex, q: TagMonthQuery) {
  const keys = q.breakdownKeys;
  const cells = keys
    ? `ARRAY[${keys.map(() => 't.cells[array_position(v.tag_keys, ?::text)]').join(', ')}]::text[]`
    : 't.cells';
  const tagKeys = keys ? `ARRAY[${keys.map(() => '?::text').join(', ')}]::text[]` : 'v.tag_keys';
  // A JSON list: knex would spread a JS array binding into a comma list.
  const orgs = q.orgs ? 'AND t.public_id IN (SELECT jsonb_array_elements_text(?::jsonb))' : '';
  const sql = `
    WITH v AS (
      SELECT DISTINCT ON (month) month, version, tag_keys, computed_at
        FROM month_end_versions
       WHERE account_id = ? AND month >= ?::date AND month <= ?::date
       ORDER BY month, version DESC
    ), t AS (
      SELECT t.month, t.public_id, t.usage_type, v.computed_at, ${cells} AS cells, ${tagKeys} AS tag_keys,
             sum(t.total_usage) AS u, sum(t.percentage_in_org) AS p, sum(t.committed_cost) AS cc,
             sum(t.on_demand_cost) AS oc, sum(t.total_cost) AS tc
        FROM month_end_tags t JOIN v ON v.month = t.month AND v.version = t.version
       WHERE t.account_id = ? ${orgs}
       GROUP BY 1, 2, 3, 4, 5, 6
    )`;
  const bindings: Knex.RawBinding[] = [
    q.accountId,
    `${q.fromMonth}-01`,
    `${q.toMonth}-01`,
    ...(keys ?? []),
    ...(keys ?? []),
    q.accountId,
    ...(q.orgs ? [JSON.stringify(q.orgs)] : []),
  ];
  return { sql, bindings, db };
}

export async function tagMonthRows(db: Knex, q: TagMonthQuery): Promise<TagMonthRow[]> {
  const { sql, bindings } = parts(db, q);
  const measure = q.sortMeasure === 'cost' ? 'tc' : 'u';
  const sortKey =
    q.sortProduct === undefined ? '' : `sum(${measure}) FILTER (WHERE usage_type = ?) AS sort_key,`;
  const dir = q.descending ? 'DESC' : 'ASC';
  const order =
    q.sortProduct === undefined
      ? `r.public_id COLLATE "C" ${dir}, r.cells COLLATE "C"`
      : `r.sort_key ${dir} NULLS LAST, r.public_id COLLATE "C", r.cells COLLATE "C"`;
  const { rows } = await db.raw(
    `${sql}, r AS (
       SELECT month, public_id, computed_at, cells, tag_keys, ${sortKey}
              jsonb_object_agg(usage_type, jsonb_build_array(trim_scale(u)::text, trim_scale(p)::text,
                               cc::text, oc::text, tc::text)) AS vals
         FROM t GROUP BY month, public_id, computed_at, cells, tag_keys
     )
     SELECT to_char(r.month, 'YYYY-MM') AS month, r.public_id, o.name AS org_name, r.tag_keys, r.cells,
            r.computed_at, r.vals
       FROM r JOIN orgs o ON o.public_id = r.public_id
      ORDER BY r.month, ${order}
     OFFSET ? LIMIT ?`,
    [...bindings, ...(q.sortProduct === undefined ? [] : [q.sortProduct]), q.offset, q.limit],
  );
  return rows.map(
    (r: {
      month: string;
      public_id: string;
      org_name: string;
      tag_keys: string[];
      cells: Cell[];
      computed_at: Date;
      vals: Record<string, string[]>;
    }) => ({
      month: r.month,
      public_id: r.public_id,
      org_name: r.org_name,
      tag_keys: r.tag_keys,
      cells: r.cells,
      updated_at: new Date(r.computed_at).toISOString(),
      values: Object.fromEntries(
        Object.entries(r.vals).map(([code, [u, p, cc, oc, tc]]) => [
          code,
          {
            usage: u,
            percentage: p,
            committed_cost: cc,
            on_demand_cost: oc,
            total_cost: tc,
          } as TagMonthFigures,
        ]),
      ),
    }),
  );
}

/**
 * Σ per product over the whole selection (every page), for Datadog's `metadata.aggregates`: from the org rows,
 * which the tag rows add up to exactly (the close's invariant), whatever the tag breakdown — a twentieth of the rows.
 */
export async function tagMonthTotals(
  db: Knex,
  q: Pick<TagMonthQuery, 'accountId' | 'fromMonth' | 'toMonth' | 'orgs'>,
): Promise<{ usage_type: string; usage: string; total_cost: string }[]> {
  const { rows } = await db.raw(
    `WITH v AS (
       SELECT DISTINCT ON (month) month, version FROM month_end_versions
        WHERE account_id = ? AND month >= ?::date AND month <= ?::date ORDER BY month, version DESC
     )
     SELECT o.usage_type, trim_scale(sum(o.total_usage))::text AS usage, sum(o.total_cost)::text AS total_cost
       FROM month_end_orgs o JOIN v ON v.month = o.month AND v.version = o.version
      WHERE o.account_id = ? ${q.orgs ? 'AND o.public_id IN (SELECT jsonb_array_elements_text(?::jsonb))' : ''}
      GROUP BY o.usage_type ORDER BY o.usage_type COLLATE "C"`,
    [
      q.accountId,
      `${q.fromMonth}-01`,
      `${q.toMonth}-01`,
      q.accountId,
      ...(q.orgs ? [JSON.stringify(q.orgs)] : []),
    ],
  );
  return rows;
}

/** The versions a selection reads (month → version): a cursor is only good while they stay the latest. */
export async function tagMonthVersions(
  db: Knex,
  q: Pick<TagMonthQuery, 'accountId' | 'fromMonth' | 'toMonth'>,
): Promise<{ versions: Record<string, number>; tagKeys: string[] }> {
  const rows = await db.raw(
    `SELECT DISTINCT ON (month) to_char(month, 'YYYY-MM') AS month, version, tag_keys
       FROM month_end_versions WHERE account_id = ? AND month >= ?::date AND month <= ?::date
      ORDER BY month, version DESC`,
    [q.accountId, `${q.fromMonth}-01`, `${q.toMonth}-01`],
  );
  const list = rows.rows as { month: string; version: number; tag_keys: string[] }[];
  return {
    versions: Object.fromEntries(list.map((r) => [r.month, r.version])),
    tagKeys: [...new Set(list.flatMap((r) => r.tag_keys))],
  };
}
