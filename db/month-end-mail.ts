import type { Knex } from 'knex';
import { previousMonth } from '../domain/month-end';
import type { MailModel, MonthCost, OrgNode } from '../domain/month-end-mail';
import { monthEndFileNames } from '../domain/month-end-report';
import { byOrg, byTag, findVersion, totals, type VersionRow } from './month-end-report';

/** Everything the finance mail of a version shows, read from the stored versions (owner: db/month-end.ts). */

async function figures(db: Knex, v: VersionRow) {
  return {
    version: v.version,
    computed_at: v.computed_at,
    totals: await totals(db, v),
    by_org: await byOrg(db, v),
  };
}

/** The org tree now; an org's parent by public id. */
async function orgNodes(db: Knex, accountId: string): Promise<OrgNode[]> {
  return db('orgs as o')
    .leftJoin('orgs as p', 'p.id', 'o.parent_id')
    .where('o.account_id', accountId)
    .orderBy('o.id')
    .select('o.public_id', 'o.name', db.raw('p.public_id AS parent'));
}

/**
 * Committed and on-demand cost of the six months ending at the version's month: each earlier month's latest
 * version, this month as this version has it (a later restatement of this month is its own mail).
 */
async function costHistory(db: Knex, v: VersionRow): Promise<MonthCost[]> {
  const { rows } = await db.raw(
    `SELECT to_char(m.month, 'YYYY-MM') AS month,
            (SELECT sum(t.committed_cost)::text FROM month_end_totals t
              WHERE t.account_id = :account AND t.month = m.month AND t.version = lv.version) AS committed,
            (SELECT sum(t.on_demand_cost)::text FROM month_end_totals t
              WHERE t.account_id = :account AND t.month = m.month AND t.version = lv.version) AS on_demand
       FROM generate_series(CAST(:start AS date) - interval '5 months', CAST(:start AS date), interval '1 month') AS m(month)
       LEFT JOIN LATERAL (
              SELECT CASE WHEN m.month = CAST(:start AS date) THEN :version
                          ELSE (SELECT max(x.version) FROM month_end_versions x
                                 WHERE x.account_id = :account AND x.month = m.month) END AS version) lv ON true
      ORDER BY m.month`,
    { account: v.account_id, start: `${v.month}-01`, version: v.version },
  );
  return rows.map((r: { month: string; committed: string | null; on_demand: string | null }) => ({
    month: r.month,
    committed: r.committed,
    on_demand: r.on_demand,
  }));
}

/**
 * A provisional month's projected bill: the latest estimate run of the month computed for an instant up to the
 * version's as-of — its projected on-demand cost plus the version's committed cost (due whatever the usage).
 */
async function projected(db: Knex, v: VersionRow): Promise<MailModel['projected']> {
  if (v.issued_status !== 'provisional') return undefined;
  const { rows } = await db.raw(
    `SELECT r.as_of,
            (SELECT coalesce(sum(e.projected_on_demand_cost), 0) FROM estimate_totals e
              WHERE e.account_id = r.account_id AND e.as_of = r.as_of)
          + (SELECT coalesce(sum(t.committed_cost), 0) FROM month_end_totals t
              WHERE (t.account_id, t.month, t.version) = (:account, CAST(:start AS date), :version)) AS total
       FROM estimate_runs r
      WHERE r.account_id = :account AND r.month = CAST(:start AS date) AND r.as_of <= CAST(:asOf AS timestamptz)
      ORDER BY r.as_of DESC LIMIT 1`,
    { account: v.account_id, start: `${v.month}-01`, version: v.version, asOf: v.as_of },
  );
  const r = rows[0];
  return r ? { total: String(r.total), as_of: new Date(r.as_of).toISOString() } : undefined;
}

export async function mailModel(db: Knex, v: VersionRow): Promise<MailModel> {
  const prev = await findVersion(db, v.account_id, previousMonth(v.month));
  const prior = v.version > 1 ? await findVersion(db, v.account_id, v.month, v.version - 1) : undefined;
  const proj = await projected(db, v);
  return {
    account: { id: v.account_id, name: v.account_name, timezone: v.timezone, currency: v.currency },
    month: v.month,
    version: v.version,
    status: v.issued_status,
    data_complete_through: v.data_complete_through,
    final_after: v.final_after,
    as_of: v.as_of,
    tag_keys: v.tag_keys,
    totals: await totals(db, v),
    by_org: await byOrg(db, v),
    top_tags: await byTag(db, v, { limit: 10 }),
    orgs: await orgNodes(db, v.account_id),
    ...(prev ? { previous: { month: prev.month, ...(await figures(db, prev)) } } : {}),
    ...(prior ? { prior: await figures(db, prior) } : {}),
    cost_history: await costHistory(db, v),
    ...(proj ? { projected: proj } : {}),
    files: monthEndFileNames(v.account_id, v.month, v.version, v.tag_keys),
  };
}
