import type { Knex } from 'knex';

/**
 * Per product of an account, the unit prices a month computed now uses: its commitment's, or 0 and 0 without one
 * (as db/month-figures.ts computes and the close stores). A closed month's prices are its version's
 * (month_end_totals); these are for figures not stored: the month to date, the latest estimate.
 */
export interface ProductPrice {
  usage_type: string;
  committed_price: string;
  on_demand_price: string;
}

export async function productPrices(db: Knex, accountId: string): Promise<ProductPrice[]> {
  const { rows } = await db.raw(
    `SELECT pr.code AS usage_type,
            trim_scale(coalesce(c.committed_price, 0))::text AS committed_price,
            trim_scale(coalesce(c.on_demand_price, 0))::text AS on_demand_price
       FROM products pr
       LEFT JOIN commitments c ON c.account_id = pr.account_id AND c.product_code = pr.code
      WHERE pr.account_id = ?
      ORDER BY pr.code COLLATE "C"`,
    [accountId],
  );
  return rows;
}
