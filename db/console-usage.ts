import type { Knex } from 'knex';
import type { VersionRow } from './month-end-report';

/**
 * The Usage page's reads of a closed month, set-based: per product sums (the account's totals, or a subtree's
 * org rows summed in Postgres), one product's row of every org, and every org's cost. At 1 000 orgs × 20 products
 * that is about 2 000 rows instead of the version's 20 000 org rows.
 */
export interface ProductSum {
  usage_type: string;
  unit: string;
  billable_usage: string;
  total_usage: string;
  included: string;
  on_demand: string;
  cost: string;
}

const at = (v: VersionRow) => ({ account: v.account_id, month: `${v.month}-01`, version: v.version });

/** `orgs` undefined: the account's totals; else the sums over these orgs' rows. */
export async function productSums(db: Knex, v: VersionRow, orgs?: readonly string[]): Promise<ProductSum[]> {
  if (!orgs) {
    const { rows } = await db.raw(
      `SELECT usage_type, unit, trim_scale(billable_usage)::text AS billable_usage,
              trim_scale(total_usage)::text AS total_usage, trim_scale(included_usage)::text AS included,
              trim_scale(on_demand_usage)::text AS on_demand, total_cost::text AS cost
         FROM month_end_totals WHERE account_id = :account AND month = :month AND version = :version
        ORDER BY usage_type COLLATE "C"`,
      at(v),
    );
    return rows;
  }
  const { rows } = await db.raw(
    `SELECT o.usage_type, t.unit, trim_scale(sum(o.billable_usage))::text AS billable_usage,
            trim_scale(sum(o.total_usage))::text AS total_usage, trim_scale(sum(o.committed_usage))::text AS included,
            trim_scale(sum(o.on_demand_usage))::text AS on_demand, sum(o.total_cost)::text AS cost
       FROM month_end_orgs o
       JOIN month_end_totals t USING (account_id, month, version, usage_type)
      WHERE o.account_id = :account AND o.month = :month AND o.version = :version
        AND o.public_id IN (SELECT jsonb_array_elements_text(CAST(:orgs AS jsonb)))
      GROUP BY o.usage_type, t.unit ORDER BY o.usage_type COLLATE "C"`,
    { ...at(v), orgs: JSON.stringify(orgs) },
  );
  return rows;
}

export interface ProductOrgRow {
  public_id: string;
  org_name: string;
  billable: boolean;
  usage_type: string;
  total_usage: string;
  billable_usage: string;
  total_cost: string;
}

/** One product's row of every org (shares are of the account: every org takes part). */
export async function productOrgRows(db: Knex, v: VersionRow, product: string): Promise<ProductOrgRow[]> {
  const { rows } = await db.raw(
    `SELECT public_id, org_name, billable, usage_type, trim_scale(total_usage)::text AS total_usage,
            trim_scale(billable_usage)::text AS billable_usage, total_cost::text AS total_cost
       FROM month_end_orgs WHERE account_id = :account AND month = :month AND version = :version
        AND usage_type = :product
      ORDER BY public_id COLLATE "C"`,
    { ...at(v), product },
  );
  return rows;
}

/** Every org's cost over its products. */
export async function orgCosts(
  db: Knex,
  v: VersionRow,
): Promise<{ public_id: string; org_name: string; billable: boolean; total_cost: string }[]> {
  const { rows } = await db.raw(
    `SELECT public_id, min(org_name) AS org_name, bool_or(billable) AS billable, sum(total_cost)::text AS total_cost
       FROM month_end_orgs WHERE account_id = :account AND month = :month AND version = :version
      GROUP BY public_id ORDER BY public_id COLLATE "C"`,
    at(v),
  );
  return rows;
}
