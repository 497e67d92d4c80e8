import {
  accountFigures,
  aggregate,
  covered,
  MONEY_SCALE,
  PCT_SCALE,
  qtyScale,
  split,
  type Aggregation,
} from '../../domain/billing';
import { add, cmp, dec, sum, text, ZERO, type Dec } from '../../domain/exact';
import type { Cell } from '../../domain/attribution';

/**
 * The month-end close computed in TypeScript from the reference rules of domain/billing.ts, row by row, for the
 * integration tests to compare with the SQL. Input: the month's hourly values per org, product, hour and cells.
 */
export interface RefOrg {
  id: string;
  name: string;
  billable: boolean;
}
export interface RefProduct {
  code: string;
  aggregation: Aggregation;
  allotment?: { per: string; quantity: string };
  on_demand?: 'monthly' | 'hourly';
}
export interface RefCommitment {
  product: string;
  quantity: string;
  committed_price: string;
  on_demand_price: string;
}
export interface RefInput {
  accountId: string;
  orgs: RefOrg[];
  products: RefProduct[];
  commitments: RefCommitment[];
  hours: number;
  dropPercent?: string;
  /** One entry per (org, product, hour index, cells); values of the same key add up. */
  usage: { org: string; product: string; hour: number; cells: Cell[]; value: string }[];
  tagKeyCount: number;
}

export type Row = Record<string, string>;

/** Array order of Postgres text[] under COLLATE "C": element by element, NULL after any value. */
export function compareCells(a: readonly Cell[], b: readonly Cell[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function referenceClose(input: RefInput): { totals: Row[]; by_org: Row[]; by_tag: Row[] } {
  const orgById = new Map(input.orgs.map((o) => [o.id, o]));
  const series = new Map<string, Map<number, Dec>>(); // org|product → hour → value
  const tagRaw = new Map<string, Map<string, Dec>>(); // org|product → cells json → Σ
  for (const u of input.usage) {
    const k = `${u.org}|${u.product}`;
    const h = series.get(k) ?? new Map<number, Dec>();
    h.set(u.hour, add(h.get(u.hour) ?? ZERO, dec(u.value)));
    series.set(k, h);
    const t = tagRaw.get(k) ?? new Map<string, Dec>();
    const ck = JSON.stringify(u.cells);
    t.set(ck, add(t.get(ck) ?? ZERO, dec(u.value)));
    tagRaw.set(k, t);
  }
  const productByCode = new Map(input.products.map((p) => [p.code, p]));
  const orgRows = new Map<string, { org: RefOrg; total: Dec; billable: Dec }[]>(); // product → rows
  for (const [k, h] of series) {
    const [org, product] = k.split('|') as [string, string];
    const p = productByCode.get(product)!;
    const values = [...h.entries()].sort(([a], [b]) => a - b).map(([, v]) => v);
    const total = aggregate(p.aggregation, values, input.hours, input.dropPercent ?? '1');
    const o = orgById.get(org)!;
    const list = orgRows.get(product) ?? [];
    list.push({ org: o, total, billable: o.billable ? total : ZERO });
    orgRows.set(product, list);
  }
  const commitment = (code: string) => input.commitments.find((c) => c.product === code);
  const billableOf = (code: string) => sum((orgRows.get(code) ?? []).map((r) => r.billable));

  const totals: Row[] = [];
  const byOrg: Row[] = [];
  const byTag: Row[] = [];
  for (const p of [...input.products].sort((a, b) => (a.code < b.code ? -1 : 1))) {
    const rows = (orgRows.get(p.code) ?? []).sort((a, b) => (a.org.id < b.org.id ? -1 : 1));
    const total = sum(rows.map((r) => r.total));
    const billable = sum(rows.map((r) => r.billable));
    const c = commitment(p.code);
    let hourly: Dec[] | undefined;
    if (p.on_demand === 'hourly') {
      const perHour = new Map<number, Dec>();
      for (const r of rows) {
        if (!r.org.billable) continue;
        for (const [hour, v] of series.get(`${r.org.id}|${p.code}`) ?? [])
          perHour.set(hour, add(perHour.get(hour) ?? ZERO, v));
      }
      hourly = [...perHour.values()];
    }
    const f = accountFigures({
      billable,
      committed: dec(c?.quantity ?? '0'),
      ...(p.allotment
        ? {
            allotment: {
              grantorCommitted: dec(commitment(p.allotment.per)?.quantity ?? '0'),
              grantorBillable: billableOf(p.allotment.per),
              perUnit: dec(p.allotment.quantity),
            },
          }
        : {}),
      ...(hourly ? { hourlyBillable: hourly } : {}),
      committedPrice: dec(c?.committed_price ?? '0'),
      onDemandPrice: dec(c?.on_demand_price ?? '0'),
    });
    totals.push({
      usage_type: p.code,
      total_usage: text(total),
      billable_usage: text(billable),
      committed_usage: text(f.committed),
      allotment_usage: text(f.allotment),
      included_usage: text(f.included),
      on_demand_usage: text(f.onDemand),
      committed_cost: text(f.committedCost),
      on_demand_cost: text(f.onDemandCost),
      total_cost: text(f.totalCost),
    });

    // A commitment with no billable usage is charged to the parent's own org, which then comes first.
    if (billable.n === 0n && cmp(f.totalCost, ZERO) > 0) {
      if (!rows.some((r) => r.org.id === input.accountId))
        rows.push({ org: orgById.get(input.accountId)!, total: ZERO, billable: ZERO });
      rows.sort((a, b) => (a.org.id === input.accountId ? -1 : b.org.id === input.accountId ? 1 : 0));
    }
    const cov = covered(billable, f.included);
    const money = split(
      {
        committed_usage: { total: cov, scale: qtyScale(cov) },
        on_demand_usage: { total: f.onDemand, scale: qtyScale(f.onDemand) },
        committed_cost: { total: f.committedCost, scale: MONEY_SCALE },
        on_demand_cost: { total: f.onDemandCost, scale: MONEY_SCALE },
      },
      rows.map((r) => r.billable),
    );
    const pct = split(
      { p: { total: dec(total.n > 0n ? 100 : 0), scale: PCT_SCALE } },
      rows.map((r) => r.total),
    );
    rows.forEach((r, i) => {
      const m = money[i]!;
      const orgPct = pct[i]!.p;
      byOrg.push({
        public_id: r.org.id,
        usage_type: p.code,
        total_usage: text(r.total),
        billable_usage: text(r.billable),
        committed_usage: text(m.committed_usage),
        on_demand_usage: text(m.on_demand_usage),
        percentage_in_account: text(orgPct),
        committed_cost: text(m.committed_cost),
        on_demand_cost: text(m.on_demand_cost),
        total_cost: text(add(m.committed_cost, m.on_demand_cost)),
      });
      const raw = tagRaw.get(`${r.org.id}|${p.code}`) ?? new Map<string, Dec>();
      if (raw.size === 0) raw.set(JSON.stringify(Array(input.tagKeyCount).fill(null)), ZERO);
      const tags = [...raw.entries()]
        .map(([k, v]) => ({ cells: JSON.parse(k) as Cell[], raw: v }))
        .sort((a, b) => compareCells(a.cells, b.cells));
      const W = sum(tags.map((t) => t.raw));
      const parts = split(
        {
          total_usage: { total: r.total, scale: qtyScale(r.total) },
          billable_usage: { total: r.billable, scale: qtyScale(r.billable) },
          committed_usage: { total: m.committed_usage, scale: qtyScale(m.committed_usage) },
          on_demand_usage: { total: m.on_demand_usage, scale: qtyScale(m.on_demand_usage) },
          percentage_in_org: { total: dec(W.n > 0n ? 100 : 0), scale: PCT_SCALE },
          percentage_in_account: { total: orgPct, scale: PCT_SCALE },
          committed_cost: { total: m.committed_cost, scale: MONEY_SCALE },
          on_demand_cost: { total: m.on_demand_cost, scale: MONEY_SCALE },
        },
        tags.map((t) => t.raw),
      );
      tags.forEach((t, j) => {
        const x = parts[j]!;
        byTag.push({
          public_id: r.org.id,
          usage_type: p.code,
          cells: JSON.stringify(t.cells),
          raw_usage: text(t.raw),
          ...Object.fromEntries(Object.entries(x).map(([k, v]) => [k, text(v)])),
          total_cost: text(add(x.committed_cost, x.on_demand_cost)),
        });
      });
    });
  }
  return { totals, by_org: byOrg, by_tag: byTag };
}
