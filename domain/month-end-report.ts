import { cmp, dec, divRound, sub, sum, text, ZERO } from './exact';
import { amount, exactQuantity } from './money';

/** The month-end report's rows (decimal strings, Datadog's field names), their file names and small sums. */

export interface TotalRow {
  usage_type: string;
  unit: string;
  aggregation: string;
  total_usage: string;
  billable_usage: string;
  committed_usage: string;
  allotment_usage: string;
  included_usage: string;
  on_demand_usage: string;
  committed_price: string;
  on_demand_price: string;
  committed_cost: string;
  on_demand_cost: string;
  total_cost: string;
}

export interface OrgRow {
  public_id: string;
  org_name: string;
  billable: boolean;
  usage_type: string;
  total_usage: string;
  billable_usage: string;
  committed_usage: string;
  on_demand_usage: string;
  percentage_in_account: string;
  committed_cost: string;
  on_demand_cost: string;
  total_cost: string;
}

export interface TagRow {
  public_id: string;
  org_name: string;
  usage_type: string;
  tags: Record<string, string[] | null>;
  total_usage: string;
  billable_usage: string;
  committed_usage: string;
  on_demand_usage: string;
  percentage_in_org: string;
  percentage_in_account: string;
  committed_cost: string;
  on_demand_cost: string;
  total_cost: string;
}

export interface ChangeRow {
  public_id?: string;
  usage_type: string;
  field: string;
  from: string;
  to: string;
}

export interface MonthEndFileNames {
  byOrg: string;
  byTag: string;
  summaries: string[];
}

/** Names carry the version: v1's and v2's files side by side in a folder or a mailbox are never confused. */
export function monthEndFileNames(
  accountId: string,
  month: string,
  version: number,
  tagKeys: readonly string[],
): MonthEndFileNames {
  return {
    byOrg: `month_end_${accountId}_${month}_v${version}_by_org.csv`,
    byTag: `month_end_${accountId}_${month}_v${version}_by_tag.csv`,
    summaries: tagKeys.map((k) => `summary_${k}_${month}_v${version}.tsv`),
  };
}

/** Thousands separators for display; the exact value is kept (attachments carry the raw decimals). */
export function formatNumber(v: string, decimals?: number): string {
  return decimals === undefined ? exactQuantity(v) : amount(v, decimals);
}

/** Month-over-month change: absolute and percent, or "new" when the previous value was 0 or absent. */
export function change(prev: string | undefined, cur: string): { abs: string; pct: string } {
  const p = dec(prev ?? '0');
  const c = dec(cur);
  const d = sub(c, p);
  if (cmp(p, ZERO) === 0) return { abs: text(d), pct: cmp(c, ZERO) === 0 ? '0 %' : 'new' };
  return { abs: text(d), pct: `${text(divRound({ n: d.n * 100n, s: d.s }, p, 1))} %` };
}

export interface OrgSummary {
  public_id: string;
  org_name: string;
  billable: boolean;
  total_cost: string;
  share_of_cost: string;
  products: number;
}

/** Per org: Σ cost over products and the share of the account's cost (one decimal, display only). */
export function orgSummaries(
  rows: readonly Pick<OrgRow, 'public_id' | 'org_name' | 'billable' | 'total_cost'>[],
): OrgSummary[] {
  const byOrg = new Map<string, Pick<OrgRow, 'public_id' | 'org_name' | 'billable' | 'total_cost'>[]>();
  for (const r of rows) {
    const list = byOrg.get(r.public_id);
    if (list) list.push(r);
    else byOrg.set(r.public_id, [r]);
  }
  const account = sum(rows.map((r) => dec(r.total_cost)));
  return [...byOrg.values()]
    .map((list) => {
      const first = list[0] as (typeof list)[number];
      const cost = sum(list.map((r) => dec(r.total_cost)));
      return {
        public_id: first.public_id,
        org_name: first.org_name,
        billable: first.billable,
        total_cost: text(cost),
        share_of_cost: account.n === 0n ? '0' : text(divRound({ n: cost.n * 100n, s: cost.s }, account, 1)),
        products: list.length,
        cost,
      };
    })
    .sort((a, b) => cmp(b.cost, a.cost) || (a.public_id < b.public_id ? -1 : 1))
    .map(({ cost: _cost, ...o }) => o);
}
