import type { Knex } from 'knex';

/** The Cost page's one read of history: what each org cost in each closed month of a range. */

export interface OrgMonthCost {
  month: string;
  public_id: string;
  org_name: string;
  billable: boolean;
  total_cost: string;
}

/**
 * Per closed month of [from, to] (YYYY-MM, both included) and org: the org's cost over every product, from the
 * month's latest month-end version. One query for the whole range; months never closed have no rows.
 */
export async function orgCostsByMonth(
  db: Knex,
  accountId: string,
  from: string,
  to: string,
): Promise<OrgMonthCost[]> {
  const { rows } = await db.raw(
    `WITH v AS (
       SELECT DISTINCT ON (month) month, version
         FROM month_end_versions
        WHERE account_id = :account AND month >= CAST(:from AS date) AND month <= CAST(:to AS date)
        ORDER BY month, version DESC
     )
     SELECT to_char(o.month, 'YYYY-MM') AS month, o.public_id, o.org_name, o.billable,
            sum(o.total_cost)::text AS total_cost
       FROM v JOIN month_end_orgs o ON o.account_id = :account AND o.month = v.month AND o.version = v.version
      GROUP BY o.month, o.public_id, o.org_name, o.billable
      ORDER BY o.month, o.public_id COLLATE "C"`,
    { account: accountId, from: `${from}-01`, to: `${to}-01` },
  );
  return rows as OrgMonthCost[];
}
