import { add, dec, text, ZERO } from '../../domain/exact';
import { NOT_PRICED } from '../../domain/money';
import { excludesNote } from '../../queries/prices';

/**
 * Money in the CLI's tables: amounts stay exact decimals (as in JSON and CSV), the currency goes in the column's
 * header (`cost (EUR)`), and a product without a price reads "not priced", never 0.
 */
export const costColumn = (name: string, currency: string): string => `${name} (${currency})`;

export const costCell = (v: string, priced: boolean): string => (priced ? v : NOT_PRICED);

/** The line under a table of products: their total cost, and the products it leaves out (those without a price). */
export function totalCostLine(
  rows: readonly { usage_type: string; total_cost: string; priced: boolean }[],
  currency: string,
): string {
  // To the cent at least, as the rows' costs are written ("1107.00", not "1107").
  const [int, frac = ''] = text(rows.reduce((a, r) => add(a, dec(r.total_cost)), ZERO)).split('.');
  const total = `${int}.${frac.padEnd(2, '0')}`;
  const note = excludesNote(rows.filter((r) => !r.priced).map((r) => r.usage_type));
  return `total cost (${currency}): ${total}${note ? ` (${note})` : ''}`;
}
