import type { Knex } from 'knex';
import { orgCosts, productOrgRows, productSums, type ProductOrgRow } from '../../db/console-usage';
import { findVersion, totals } from '../../db/month-end-report';
import { add, dec, text, ZERO, type Dec } from '../../domain/exact';
import { orgSummaries, type OrgSummary } from '../../domain/month-end-report';
import { unpricedOf } from '../../queries/prices';
import type { Scope } from '../../queries/scope';
import { monthFiguresIfAny, type MonthFigures } from '../../queries/summary';

/**
 * What the Usage page shows of one month, whether the month is closed (read set-based from its month-end version:
 * per product sums, one product's org rows, every org's cost) or not (the close's SQL over the hours so far, every
 * org row, summed here). `orgs` undefined: the whole account; else the subtree's orgs.
 */
export interface ProductLine {
  usage_type: string;
  unit: string;
  usage: string;
  included: string;
  on_demand: string;
  cost: string;
  /** false: the product has no price in the month (its cost is "not priced", not 0.00). */
  priced: boolean;
}

export interface UsageMonth {
  source: string;
  status: MonthFigures['status'];
  data_complete_through: string;
  products: ProductLine[];
  /** Every org's row of one product: shares are of the account, so every org takes part. */
  productRows(product: string): Promise<ProductOrgRow[]>;
  /** Every org's cost and its share of the account's cost. */
  costs(): Promise<OrgSummary[]>;
}

type View = 'billable' | 'all';

export async function usageMonth(
  db: Knex,
  scope: Scope,
  q: { month: string; asOf: string; view: View; orgs?: readonly string[] },
): Promise<UsageMonth | undefined> {
  const v = await findVersion(db, scope.accountId, q.month);
  if (v) {
    const [sums, unpriced] = await Promise.all([
      productSums(db, v, q.orgs),
      totals(db, v).then((t) => new Set(unpricedOf(t))),
    ]);
    return {
      source: `month-end version ${v.version} (${v.status})`,
      status: v.status,
      data_complete_through: v.data_complete_through,
      products: sums.map((p) => ({
        usage_type: p.usage_type,
        unit: p.unit,
        usage: q.view === 'billable' ? p.billable_usage : p.total_usage,
        included: p.included,
        on_demand: p.on_demand,
        cost: p.cost,
        priced: !unpriced.has(p.usage_type),
      })),
      productRows: (product) => productOrgRows(db, v, product),
      costs: async () => orgSummaries(await orgCosts(db, v)),
    };
  }
  const f = await monthFiguresIfAny(db, scope, { month: q.month, asOf: q.asOf });
  if (!f) return undefined;
  return {
    source: f.source,
    status: f.status,
    data_complete_through: f.data_complete_through,
    products: liveLines(f, q.view, q.orgs),
    productRows: async (product) => f.orgs.filter((r) => r.usage_type === product),
    costs: async () => orgSummaries(f.orgs),
  };
}

/** The account's rows, or the sums of the subtree's org rows, of a month computed live. */
function liveLines(f: MonthFigures, view: View, orgs?: readonly string[]): ProductLine[] {
  const unpriced = new Set(unpricedOf(f.totals));
  if (!orgs)
    return f.totals.map((t) => ({
      usage_type: t.usage_type,
      unit: t.unit,
      usage: view === 'billable' ? t.billable_usage : t.total_usage,
      included: t.included_usage,
      on_demand: t.on_demand_usage,
      cost: t.total_cost,
      priced: !unpriced.has(t.usage_type),
    }));
  const ids = new Set(orgs);
  const units = new Map(f.totals.map((t) => [t.usage_type, t.unit]));
  const by = new Map<string, { usage: Dec; included: Dec; on_demand: Dec; cost: Dec }>();
  for (const r of f.orgs) {
    if (!ids.has(r.public_id)) continue;
    const a = by.get(r.usage_type) ?? { usage: ZERO, included: ZERO, on_demand: ZERO, cost: ZERO };
    a.usage = add(a.usage, dec(view === 'billable' ? r.billable_usage : r.total_usage));
    a.included = add(a.included, dec(r.committed_usage));
    a.on_demand = add(a.on_demand, dec(r.on_demand_usage));
    a.cost = add(a.cost, dec(r.total_cost));
    by.set(r.usage_type, a);
  }
  return [...by]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([usage_type, a]) => ({
      usage_type,
      unit: units.get(usage_type) ?? '',
      usage: text(a.usage),
      included: text(a.included),
      on_demand: text(a.on_demand),
      cost: text(a.cost),
      priced: !unpriced.has(usage_type),
    }));
}
