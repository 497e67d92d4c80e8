import type { Knex } from 'knex';
import { productPrices } from '../db/product-prices';
import { isPriced, NOT_PRICED } from '../domain/money';
import type { Scope } from './scope';

/**
 * Which products have a price. A product whose prices are both 0 (no commitment) is "not priced": its cost is
 * shown as such, never as 0.00, and every total over products names it as left out.
 */
export interface PricedRow {
  usage_type: string;
  committed_price: string;
  on_demand_price: string;
}

/** The products of `rows` without a price, sorted. */
export function unpricedOf(rows: readonly PricedRow[]): string[] {
  return rows
    .filter((r) => !isPriced(r))
    .map((r) => r.usage_type)
    .sort();
}

/** The products without a price as a month computed now prices them (the month to date, the latest estimate). */
export async function unpricedNow(db: Knex, scope: Scope): Promise<string[]> {
  return unpricedOf(await productPrices(db, scope.accountId));
}

/**
 * What a total over products leaves out: "excludes not priced: containers, custom_metrics" ('' when every product
 * is priced). The products are named, so no reader takes the total for the whole usage's cost.
 */
export const excludesNote = (unpriced: readonly string[]): string =>
  unpriced.length ? `excludes ${NOT_PRICED}: ${[...unpriced].sort().join(', ')}` : '';
