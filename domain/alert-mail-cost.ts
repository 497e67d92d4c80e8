import { cmp, dec, max, mul, sub, text, ZERO } from './exact';
import { isPriced, money, NOT_PRICED, signedMoney } from './money';
import { monthWords, qty, quantityText, signedQty } from './alert-mail-words';

/**
 * What an alert costs, in the account's currency, exact (BigInt decimals; rounded to cents only when written):
 *
 * - threshold: the account's projected overage of the product (projected billable − included, when > 0) × its
 *   on-demand price. Overage is billed at the account, so an org-scoped rule shows the account's figure too.
 * - spike / drop: the change in units × the on-demand price: for a `sum` product that is the day's cost of the
 *   change; for the others (hosts, averages: billed on the month's figure) what it adds per month if it lasts.
 *   Both are stated as estimates.
 * - a product without a price (no commitments row, or both prices 0) is "not priced", never 0.00.
 */

export interface CommitmentPrice {
  committed_price: string;
  on_demand_price: string;
}

export interface CostFigure {
  /** Short, for the subject and the headline: `USD 157.08 projected on-demand`, `not priced`. */
  headline: string;
  /** The sentence with the arithmetic. */
  detail: string;
  /** The exact amount (unrounded) when priced and there is one. */
  amount?: string;
}

interface Product {
  code: string;
  unit: string;
  aggregation: string;
}

/** `USD 0.10 per GB`: the price as contracted (every decimal kept, at least two). */
export function unitPrice(price: string, currency: string, unit: string): string {
  const t = quantityText(price);
  const [int, frac = ''] = t.split('.');
  return `${currency} ${int}.${frac.padEnd(2, '0')}${unit ? ` per ${unit}` : ''}`;
}

const priceOf = (p: CommitmentPrice | null): string | null => (p && isPriced(p) ? p.on_demand_price : null);

const unpriced = (code: string) => `not priced (${code} has no on-demand price in the account's commitments)`;

export function thresholdCost(x: {
  product: Product;
  price: CommitmentPrice | null;
  /** The account's estimate of the product at the notice's hour; null when none was stored. */
  estimate: { projectedBillable: string; included: string } | null;
  month: string;
  currency: string;
}): CostFigure {
  const { product: p, estimate: e } = x;
  const price = priceOf(x.price);
  if (price === null) return { headline: NOT_PRICED, detail: `Cost: ${unpriced(p.code)}.` };
  if (!e)
    return {
      headline: 'no estimate stored',
      detail: 'Projected on-demand: no estimate of the account was stored for this hour.',
    };
  const overage = max(ZERO, sub(dec(e.projectedBillable), dec(e.included)));
  const u = p.unit;
  const how = `projected billable ${qty(e.projectedBillable, u)} − ${qty(e.included, u)} included`;
  // Overage is billed at the account; only account-wide notices get here (domain/alert-mail.ts alertCost).
  const of = `Projected on-demand of ${p.code} for the whole account in ${monthWords(x.month)}`;
  if (cmp(overage, ZERO) === 0)
    return {
      headline: 'no on-demand cost projected',
      detail:
        `${of}: none: projected billable ${qty(e.projectedBillable, u)} is within the ` +
        `${qty(e.included, u)} included (on-demand would cost ${unitPrice(price, x.currency, u)}).`,
    };
  const amount = text(mul(overage, dec(price)));
  return {
    headline: `${money(amount, x.currency)} projected on-demand`,
    detail:
      `${of}: ${qty(text(overage), u)} (${how}) × ` +
      `${unitPrice(price, x.currency, u)} = ${money(amount, x.currency)} (an estimate).`,
    amount,
  };
}

export function changeCost(x: {
  product: Product;
  price: CommitmentPrice | null;
  /** Day D's value − the baseline median; null when not evaluated. */
  change: string | null;
  currency: string;
}): CostFigure | null {
  if (x.change === null) return null;
  const { product: p } = x;
  const price = priceOf(x.price);
  if (price === null) return { headline: NOT_PRICED, detail: `Cost of the change: ${unpriced(p.code)}.` };
  const amount = text(mul(dec(x.change), dec(price)));
  const per = p.aggregation === 'sum' ? 'for the day' : 'per month if it lasts';
  return {
    headline: `about ${signedMoney(amount, x.currency)} ${per}`,
    detail:
      `Cost of the change (an estimate at the on-demand price): ${signedQty(x.change, p.unit)} × ` +
      `${unitPrice(price, x.currency, p.unit)} ≈ ${signedMoney(amount, x.currency)} ${per}.`,
    amount,
  };
}
