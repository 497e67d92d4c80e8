import { PCT_SCALE } from './billing';
import { allocate, dec, sum, text } from './exact';
import type { OrgRow, TotalRow } from './month-end-report';
import type { View } from './trends';

/**
 * The multi-org usage summary (Datadog's "Overall" and "Individual organizations" views): per product the
 * account's total and billable usage, and per org its usage and share of the account in the chosen view.
 */
export type SummaryTotal = Pick<
  TotalRow,
  | 'usage_type'
  | 'unit'
  | 'total_usage'
  | 'billable_usage'
  | 'committed_cost'
  | 'on_demand_cost'
  | 'total_cost'
>;
export type SummaryOrgInput = Pick<
  OrgRow,
  'public_id' | 'org_name' | 'billable' | 'usage_type' | 'total_usage' | 'billable_usage' | 'total_cost'
>;
export interface SummaryOrg extends SummaryOrgInput {
  percentage_in_account: string;
  is_parent: boolean;
  /** Why the row's usage is not billed (null when it is). */
  non_billable_reason: string | null;
}

export function summarizeOrgs(accountId: string, orgs: readonly SummaryOrgInput[], view: View): SummaryOrg[] {
  const byProduct = new Map<string, SummaryOrgInput[]>();
  for (const o of orgs) {
    const list = byProduct.get(o.usage_type);
    if (list) list.push(o);
    else byProduct.set(o.usage_type, [o]);
  }
  const out: SummaryOrg[] = [];
  for (const [, list] of [...byProduct].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const sorted = [...list].sort((a, b) => (a.public_id < b.public_id ? -1 : 1));
    const weights = sorted.map((o) => dec(view === 'billable' ? o.billable_usage : o.total_usage));
    const W = sum(weights);
    const pct = allocate(dec(W.n > 0n ? 100 : 0), weights, PCT_SCALE);
    sorted.forEach((o, i) =>
      out.push({
        ...o,
        percentage_in_account: text(pct[i] ?? dec(0)),
        is_parent: o.public_id === accountId,
        non_billable_reason: o.billable ? null : 'trial org (billable: false): shown in "all", never billed',
      }),
    );
  }
  return out;
}
