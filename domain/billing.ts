import {
  add,
  allocate,
  cmp,
  dec,
  divRound,
  isZero,
  max,
  min,
  mul,
  round,
  scaleOf,
  sub,
  sum,
  ZERO,
  type Dec,
} from './exact';

/**
 * The month-end billing rules, as a pure reference. Production runs the same rules as set-based SQL
 * (db/month-end.ts); the integration tests compare both on generated months. Every rounding is stated here:
 *
 * - avg: Σ hourly values / hours of the month (missing hours count as 0), half-up to AVG_SCALE decimals.
 * - p99: the hours of the month sorted high to low (missing hours are 0); drop the top floor(p % × hours), take
 *   the next (p = the account's p99_drop_percent, default 1: 744 h → 8th highest, 743 h → 8th, 745 h → 8th).
 * - max: the highest hourly value; last: the value of the latest hour that has data; sum: Σ.
 * - allotment of X = max(committed Y, billable Y) × per-unit quantity; included = committed X + allotment X;
 *   on-demand = max(0, billable − included).
 * - hourly on-demand mode: the allotment per hour is monthly allotment × 12 / 8 760 (half-up to AVG_SCALE); the
 *   usable allotment is Σ over the month's hours of min(billable that hour, allotment per hour); on-demand =
 *   max(0, billable − committed − usable allotment). The usable allotment is reported as allotment_usage, so
 *   min(billable, included) + on-demand = billable holds in both modes.
 * - costs: committed × committed price and on-demand × on-demand price, each half-up to cents.
 * - chargeback: every account figure is split over the orgs by billable usage, every org figure over its tag rows
 *   by their summed hourly usage, with largest-remainder allocation (allocate()) at QTY_SCALE decimals (or
 *   more if the figure has more), cents for money, PCT_SCALE for percentages, so rows add up exactly.
 */
export const AVG_SCALE = 6;
export const QTY_SCALE = 6;
export const MONEY_SCALE = 2;
export const PCT_SCALE = 4;

export type Aggregation = 'sum' | 'avg' | 'max' | 'p99' | 'last';

/** Rank (1-based, highest first) of the hour the p99 rule takes. */
export function p99Rank(hours: number, dropPercent: Dec | string = '1'): number {
  const p = typeof dropPercent === 'string' ? dec(dropPercent) : dropPercent;
  const dropped = mul(p, dec(hours));
  // floor(p × hours / 100)
  const scaled = dropped.n / 10n ** BigInt(dropped.s);
  return Number(scaled / 100n) + 1;
}

/**
 * One month's quantity of one org and product. `series` holds the hours that have data, in hour order (values
 * of one hour already summed); `hours` is the real number of hours in the month.
 */
export function aggregate(
  rule: Aggregation,
  series: readonly Dec[],
  hours: number,
  dropPercent: Dec | string = '1',
): Dec {
  if (series.length > hours) throw new Error(`${series.length} hourly values for a ${hours}-hour month`);
  switch (rule) {
    case 'sum':
      return sum(series);
    case 'avg':
      return divRound(sum(series), dec(hours), AVG_SCALE);
    case 'max':
      return series.reduce(max, ZERO);
    case 'last':
      return series.length ? (series[series.length - 1] as Dec) : ZERO;
    case 'p99': {
      const k = p99Rank(hours, dropPercent);
      const sorted = [...series].sort((a, b) => cmp(b, a));
      return k <= sorted.length ? (sorted[k - 1] as Dec) : ZERO;
    }
  }
}

export interface AccountProductInput {
  billable: Dec;
  committed: Dec;
  /** The granting product's committed and billable quantity and the per-unit quantity, when X has an allotment. */
  allotment?: { grantorCommitted: Dec; grantorBillable: Dec; perUnit: Dec };
  /** Hourly mode: the account's billable value of every hour of the month that has data. */
  hourlyBillable?: readonly Dec[];
  committedPrice: Dec;
  onDemandPrice: Dec;
}

export interface AccountProductFigures {
  committed: Dec;
  allotment: Dec;
  included: Dec;
  onDemand: Dec;
  committedCost: Dec;
  onDemandCost: Dec;
  totalCost: Dec;
}

export function accountFigures(x: AccountProductInput): AccountProductFigures {
  const granted = x.allotment
    ? mul(max(x.allotment.grantorCommitted, x.allotment.grantorBillable), x.allotment.perUnit)
    : ZERO;
  let allotment = granted;
  if (x.hourlyBillable) {
    const perHour = divRound(mul(granted, dec(12)), dec(8760), AVG_SCALE);
    allotment = sum(x.hourlyBillable.map((b) => min(b, perHour)));
  }
  const included = add(x.committed, allotment);
  const onDemand = max(ZERO, sub(x.billable, included));
  const committedCost = round(mul(x.committed, x.committedPrice), MONEY_SCALE);
  const onDemandCost = round(mul(onDemand, x.onDemandPrice), MONEY_SCALE);
  return {
    committed: x.committed,
    allotment,
    included,
    onDemand,
    committedCost,
    onDemandCost,
    totalCost: add(committedCost, onDemandCost),
  };
}

export const qtyScale = (figure: Dec): number => Math.max(QTY_SCALE, scaleOf(figure));

/** Splits figures over items by weight, each figure with its own scale; items are in tie-break order. */
export function split<K extends string>(
  figures: Record<K, { total: Dec; scale: number }>,
  weights: readonly Dec[],
): Record<K, Dec>[] {
  const names = Object.keys(figures) as K[];
  const cols = names.map((k) => allocate(figures[k].total, weights, figures[k].scale));
  return weights.map((_, i) => Object.fromEntries(names.map((k, j) => [k, cols[j]![i]!])) as Record<K, Dec>);
}

export const covered = (billable: Dec, included: Dec): Dec => min(billable, included);
export { isZero };
