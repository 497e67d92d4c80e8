import { add, cmp, dec, sub, sum, text, ZERO, type Dec } from './exact';
import { monthName } from './human-time';
import { isPriced, money, percentChange, percentOf } from './money';
import type { MonthEndFileNames, OrgRow, TagRow, TotalRow } from './month-end-report';

/**
 * The finance mail's model (read by db/month-end-mail.ts) and the figures derived from it for both parts: the
 * headline, the invoice lines, the chargeback tree, the largest changes in money and what a restatement moved.
 * Exact decimals throughout; the renderers only format.
 */

export interface OrgNode {
  public_id: string;
  name: string;
  /** The parent's public id (null: the account's root org). */
  parent: string | null;
}

export interface MonthCost {
  month: string;
  /** Null: the month was not closed. */
  committed: string | null;
  on_demand: string | null;
}

export interface VersionFigures {
  version: number;
  computed_at: string;
  totals: TotalRow[];
  by_org: OrgRow[];
}

export interface MailModel {
  account: { id: string; name: string; timezone: string; currency: string };
  month: string;
  version: number;
  status: 'provisional' | 'final';
  data_complete_through: string;
  /** When the figures become final (month end + lateness, in the account's zone). */
  final_after: string;
  /** The instant the figures were computed for: the report is the same bytes on any re-run. */
  as_of: string;
  tag_keys: string[];
  totals: TotalRow[];
  by_org: OrgRow[];
  top_tags: TagRow[];
  /** The org tree as it is now (names as the version kept them win). */
  orgs: OrgNode[];
  /** The previous month's latest version. */
  previous?: { month: string } & VersionFigures;
  /** The version this one restates (version − 1 of the same month). */
  prior?: VersionFigures;
  /** Six months of cost, oldest first, this month last. */
  cost_history: MonthCost[];
  /** A provisional month's projected bill, from the latest estimate run of the month. */
  projected?: { total: string; as_of: string };
  files: MonthEndFileNames;
}

export const CHART_CID = 'cost-six-months@orgtally';

/** `[orgtally] Acme MSP: November 2026 month-end, USD 11,081.94, final` — "restated" when version > 1. */
export function mailSubject(m: MailModel): string {
  const status = m.version > 1 ? `restated (version ${m.version}), ${m.status}` : m.status;
  return `[orgtally] ${m.account.name}: ${monthName(m.month)} month-end, ${money(text(costOf(m.totals)), m.account.currency)}, ${status}`;
}

const costOf = (rows: readonly { total_cost: string }[]): Dec => sum(rows.map((r) => dec(r.total_cost)));

export interface Headline {
  total: string;
  committed: string;
  on_demand: string;
  /** On-demand share of the amount, one decimal (undefined: nothing billed). */
  on_demand_share?: string;
  previous?: { month: string; total: string; change: string; pct?: string };
  not_priced: string[];
}

export function headline(m: MailModel): Headline {
  const total = costOf(m.totals);
  const committed = sum(m.totals.map((t) => dec(t.committed_cost)));
  const onDemand = sum(m.totals.map((t) => dec(t.on_demand_cost)));
  const prev = m.previous ? costOf(m.previous.totals) : undefined;
  const share = percentOf(text(onDemand), text(total));
  return {
    total: text(total),
    committed: text(committed),
    on_demand: text(onDemand),
    ...(share ? { on_demand_share: share } : {}),
    ...(m.previous && prev
      ? {
          previous: {
            month: m.previous.month,
            total: text(prev),
            change: text(sub(total, prev)),
            ...(percentChange(text(prev), text(total))
              ? { pct: percentChange(text(prev), text(total)) }
              : {}),
          },
        }
      : {}),
    not_priced: m.totals.filter((t) => !isPriced(t)).map((t) => t.usage_type),
  };
}

/** Products in invoice order: priced lines by amount (largest first), then the not-priced ones by name. */
export function productLines(m: MailModel): (TotalRow & { priced: boolean })[] {
  return m.totals
    .map((t) => ({ ...t, priced: isPriced(t) }))
    .sort(
      (a, b) =>
        Number(b.priced) - Number(a.priced) ||
        cmp(dec(b.total_cost), dec(a.total_cost)) ||
        (a.usage_type < b.usage_type ? -1 : 1),
    );
}

export interface OrgLine {
  public_id: string;
  name: string;
  billable: boolean;
  depth: number;
  /** The org's own rows; for a parent with sub-orgs `subtree` adds theirs. */
  committed: string;
  on_demand: string;
  total: string;
  previous?: string;
  change?: string;
  pct?: string;
  /** Set on the line of an org with sub-orgs: the amount of the org and everything below it. */
  subtree?: { total: string; previous?: string };
}

/**
 * Chargeback as a tree: the root org's own line first (it carries unused commitments), then each client org by
 * its subtree's amount (largest first), its sub-orgs indented under it. Orgs without rows in either month are
 * left out.
 */
export function orgTree(m: MailModel): OrgLine[] {
  const own = (rows: readonly OrgRow[]) => {
    const map = new Map<
      string,
      { committed: Dec; on_demand: Dec; total: Dec; name: string; billable: boolean }
    >();
    for (const r of rows) {
      const cur = map.get(r.public_id) ?? {
        committed: ZERO,
        on_demand: ZERO,
        total: ZERO,
        name: r.org_name,
        billable: r.billable,
      };
      map.set(r.public_id, {
        name: cur.name,
        billable: cur.billable,
        committed: add(cur.committed, dec(r.committed_cost)),
        on_demand: add(cur.on_demand, dec(r.on_demand_cost)),
        total: add(cur.total, dec(r.total_cost)),
      });
    }
    return map;
  };
  const now = own(m.by_org);
  const before = m.previous ? own(m.previous.by_org) : undefined;
  const known = new Set(m.orgs.map((o) => o.public_id));
  // An org of the version no longer in the tree hangs under the root, so no row is ever dropped.
  const root = m.orgs.find((o) => o.parent === null)?.public_id ?? m.account.id;
  const nodes: OrgNode[] = [
    ...m.orgs,
    ...[...now.keys()]
      .filter((id) => !known.has(id))
      .map((id) => ({ public_id: id, name: now.get(id)?.name ?? id, parent: root })),
  ];
  const children = new Map<string | null, OrgNode[]>();
  for (const o of nodes) children.set(o.parent, [...(children.get(o.parent) ?? []), o]);
  const subtreeOf = (id: string, of: Map<string, { total: Dec }> | undefined): Dec | undefined => {
    if (!of) return undefined;
    return add(
      of.get(id)?.total ?? ZERO,
      sum((children.get(id) ?? []).map((c) => subtreeOf(c.public_id, of) ?? ZERO)),
    );
  };
  const has = (id: string): boolean =>
    now.has(id) || (before?.has(id) ?? false) || (children.get(id) ?? []).some((c) => has(c.public_id));
  const line = (o: OrgNode, depth: number): OrgLine => {
    const n = now.get(o.public_id);
    const p = before?.get(o.public_id);
    const total = n?.total ?? ZERO;
    const kids = (children.get(o.public_id) ?? []).filter((c) => has(c.public_id));
    const sub_ = subtreeOf(o.public_id, now) as Dec;
    const subPrev = subtreeOf(o.public_id, before);
    return {
      public_id: o.public_id,
      name: n?.name ?? o.name,
      billable: n?.billable ?? p?.billable ?? true,
      depth,
      committed: text(n?.committed ?? ZERO),
      on_demand: text(n?.on_demand ?? ZERO),
      total: text(total),
      ...(before
        ? {
            previous: text(p?.total ?? ZERO),
            change: text(sub(total, p?.total ?? ZERO)),
            ...(p && percentChange(text(p.total), text(total))
              ? { pct: percentChange(text(p.total), text(total)) }
              : {}),
          }
        : {}),
      ...(depth > 0 && kids.length
        ? { subtree: { total: text(sub_), ...(subPrev ? { previous: text(subPrev) } : {}) } }
        : {}),
    };
  };
  const out: OrgLine[] = [];
  const walk = (o: OrgNode, depth: number) => {
    out.push(line(o, depth));
    const kids = (children.get(o.public_id) ?? []).filter((c) => has(c.public_id));
    const bySize = kids
      .map((k) => ({ k, t: subtreeOf(k.public_id, now) as Dec }))
      .sort((a, b) => cmp(b.t, a.t) || (a.k.public_id < b.k.public_id ? -1 : 1));
    for (const { k } of bySize) walk(k, depth + 1);
  };
  const top = nodes.find((o) => o.public_id === root);
  if (top) walk(top, 0);
  return out;
}

export interface MoneyChange {
  public_id: string;
  org_name: string;
  usage_type: string;
  previous: string;
  current: string;
  change: string;
  pct?: string;
}

const pairKey = (r: { public_id: string; usage_type: string }) => `${r.public_id}\u0000${r.usage_type}`;

/** Cost changes per org and product between two sets of rows, largest first (by size, whatever the sign). */
export function costChanges(before: readonly OrgRow[], after: readonly OrgRow[]): MoneyChange[] {
  const prev = new Map(before.map((r) => [pairKey(r), r]));
  const cur = new Map(after.map((r) => [pairKey(r), r]));
  const keys = [...new Set([...prev.keys(), ...cur.keys()])];
  return keys
    .map((k) => {
      const p = prev.get(k);
      const c = cur.get(k);
      const r = (c ?? p) as OrgRow;
      const pv = p?.total_cost ?? '0';
      const cv = c?.total_cost ?? '0';
      const pct = percentChange(pv, cv);
      return {
        public_id: r.public_id,
        org_name: r.org_name,
        usage_type: r.usage_type,
        previous: text(dec(pv)),
        current: text(dec(cv)),
        change: text(sub(dec(cv), dec(pv))),
        ...(pct ? { pct } : {}),
      };
    })
    .filter((x) => dec(x.change).n !== 0n)
    .sort((a, b) => {
      const abs = (v: string) => {
        const d = dec(v);
        return d.n < 0n ? { n: -d.n, s: d.s } : d;
      };
      return cmp(abs(b.change), abs(a.change)) || (pairKey(a) < pairKey(b) ? -1 : 1);
    });
}

export interface Restatement {
  prior_version: number;
  prior_computed_at: string;
  before: string;
  after: string;
  change: string;
  /** Per org (names), was → now, largest change first. */
  orgs: { public_id: string; name: string; before: string; after: string; change: string }[];
  /** Orgs whose own usage changed (late data). */
  usage_changed: string[];
  /** Orgs whose usage did not change but whose amount did: moved by the shared commitment's split. */
  moved_by_split: string[];
  /** Products whose prices or committed quantity changed (a contract change in the spec, not late data). */
  contract_changed: string[];
  /** Products whose account-level billable usage changed. */
  products: { usage_type: string; before: string; after: string; unit: string }[];
}

/** What a restated version changed against the version it replaces, in names and money. */
export function restatement(m: MailModel): Restatement | undefined {
  const p = m.prior;
  if (!p) return undefined;
  const byOrg = (rows: readonly OrgRow[]) => {
    const map = new Map<string, { name: string; total: Dec; usage: Map<string, string> }>();
    for (const r of rows) {
      const cur = map.get(r.public_id) ?? { name: r.org_name, total: ZERO, usage: new Map<string, string>() };
      cur.total = add(cur.total, dec(r.total_cost));
      cur.usage.set(r.usage_type, text(dec(r.billable_usage)));
      map.set(r.public_id, cur);
    }
    return map;
  };
  const a = byOrg(p.by_org);
  const b = byOrg(m.by_org);
  const ids = [...new Set([...a.keys(), ...b.keys()])].sort();
  const orgs = ids
    .map((id) => {
      const was = a.get(id)?.total ?? ZERO;
      const now = b.get(id)?.total ?? ZERO;
      return {
        public_id: id,
        name: b.get(id)?.name ?? a.get(id)?.name ?? id,
        before: text(was),
        after: text(now),
        change: text(sub(now, was)),
      };
    })
    .filter((o) => dec(o.change).n !== 0n)
    .sort((x, y) => {
      const abs = (v: string) => {
        const d = dec(v);
        return d.n < 0n ? { n: -d.n, s: d.s } : d;
      };
      return cmp(abs(y.change), abs(x.change)) || (x.public_id < y.public_id ? -1 : 1);
    });
  const sameUsage = (id: string) => {
    const x = a.get(id)?.usage ?? new Map<string, string>();
    const y = b.get(id)?.usage ?? new Map<string, string>();
    return [...new Set([...x.keys(), ...y.keys()])].every(
      (k) => cmp(dec(x.get(k) ?? '0'), dec(y.get(k) ?? '0')) === 0,
    );
  };
  const name = (id: string) => b.get(id)?.name ?? a.get(id)?.name ?? id;
  const usageChanged = ids.filter((id) => !sameUsage(id));
  const prevTotals = new Map(p.totals.map((t) => [t.usage_type, t]));
  return {
    prior_version: p.version,
    prior_computed_at: p.computed_at,
    before: text(costOf(p.totals)),
    after: text(costOf(m.totals)),
    change: text(sub(costOf(m.totals), costOf(p.totals))),
    orgs,
    usage_changed: usageChanged.map(name),
    // without any usage change, what moved the others was the contract, not a split of late usage
    moved_by_split: usageChanged.length
      ? orgs.filter((o) => !usageChanged.includes(o.public_id)).map((o) => o.name)
      : [],
    contract_changed: m.totals
      .filter((t) => {
        const q = prevTotals.get(t.usage_type);
        if (!q) return false;
        return (
          cmp(dec(t.committed_price), dec(q.committed_price)) !== 0 ||
          cmp(dec(t.on_demand_price), dec(q.on_demand_price)) !== 0 ||
          cmp(dec(t.committed_usage), dec(q.committed_usage)) !== 0
        );
      })
      .filter(
        (t) => cmp(dec(t.billable_usage), dec(prevTotals.get(t.usage_type)?.billable_usage ?? '0')) === 0,
      )
      .map((t) => t.usage_type),
    products: m.totals
      .filter(
        (t) => cmp(dec(t.billable_usage), dec(prevTotals.get(t.usage_type)?.billable_usage ?? '0')) !== 0,
      )
      .map((t) => ({
        usage_type: t.usage_type,
        unit: t.unit,
        before: text(dec(prevTotals.get(t.usage_type)?.billable_usage ?? '0')),
        after: text(dec(t.billable_usage)),
      })),
  };
}

/** The tags of a tag row in words: `team:web env:prod`, untagged as "(untagged)". */
export const tagText = (tags: Record<string, string[] | null>): string =>
  Object.entries(tags)
    .map(([k, v]) => `${k}:${v === null ? '(untagged)' : v.map((x) => (x === '' ? '<empty>' : x)).join('|')}`)
    .join(' ');
