import { z } from 'zod';
import { add, cmp, dec, sum, text, ZERO, type Dec } from './exact';
import { completeThrough, monthName } from './human-time';
import { exactQuantity as quantity, isPriced, money, price } from './money';
import type { OrgRow } from './month-end-report';
import { unitFor } from './units';

/**
 * A client org's own month-end statement: its figures and those of the orgs below it, from one stored version
 * (month_end_orgs for the figures, month_end_totals for prices and units) — never a sibling's, the parent's or
 * the account's. The frame (who is in scope, the status, zone and currency) is frozen in the ledger row when it
 * is planned, so every attempt renders the same bytes. Exact decimals throughout; the renderers only format.
 */

export interface ScopeOrg {
  public_id: string;
  name: string;
  /** The parent's public id inside the scope (null: the statement's own org). */
  parent: string | null;
}

/** What a `statement` ledger row stands for (its `reference`), validated when it is read back. */
export const StatementReference = z.strictObject({
  month: z.string().regex(/^\d{4}-\d{2}$/),
  version: z.number().int().positive(),
  org: z.string().min(1),
  status: z.enum(['provisional', 'final']),
  data_complete_through: z.string().min(1),
  timezone: z.string().min(1),
  currency: z.string().regex(/^[A-Z]{3}$/),
  /** The org first, then every org below it, parents before children. */
  scope: z
    .array(z.strictObject({ public_id: z.string(), name: z.string(), parent: z.string().nullable() }))
    .min(1),
});
export type StatementReference = z.infer<typeof StatementReference>;

/** `statement/<account>/<month>/v<version>/<org>/<recipient>`: one mail per contact and version. */
export const statementDedupeKey = (accountId: string, r: StatementReference, recipient: string): string =>
  `statement/${accountId}/${r.month}/v${r.version}/${r.org}/${recipient}`;

/**
 * `org` and every org below it, in reading order: each org followed by its sub-orgs (by public id). Orgs are
 * `{public_id, name, parent}` of the whole account; the result's root has parent null.
 */
export function statementScope(orgs: readonly ScopeOrg[], org: string): ScopeOrg[] {
  const children = new Map<string, ScopeOrg[]>();
  for (const o of orgs) if (o.parent !== null) children.set(o.parent, [...(children.get(o.parent) ?? []), o]);
  const root = orgs.find((o) => o.public_id === org);
  if (!root) return [];
  const out: ScopeOrg[] = [];
  const seen = new Set<string>();
  const walk = (o: ScopeOrg, parent: string | null) => {
    if (seen.has(o.public_id)) return; // a cycle cannot come from a valid spec; never loop on one
    seen.add(o.public_id);
    out.push({ public_id: o.public_id, name: o.name, parent });
    const kids = [...(children.get(o.public_id) ?? [])].sort((a, b) =>
      a.public_id < b.public_id ? -1 : a.public_id > b.public_id ? 1 : 0,
    );
    for (const k of kids) walk(k, o.public_id);
  };
  walk(root, null);
  return out;
}

/** One stored month_end_orgs row, as db/month-end-report.ts byOrg reads it. */
export type StatementOrgRow = Omit<OrgRow, 'percentage_in_account'>;

/** The version's unit and prices of a product (month_end_totals). */
export interface StatementPrice {
  usage_type: string;
  unit: string;
  committed_price: string;
  on_demand_price: string;
}

export interface StatementModel extends StatementReference {
  rows: StatementOrgRow[];
  prices: StatementPrice[];
}

export interface StatementLine {
  usage_type: string;
  unit: string;
  priced: boolean;
  billable: boolean;
  total_usage: string;
  quantity: string;
  committed_usage: string;
  committed_cost: string;
  on_demand_usage: string;
  on_demand_cost: string;
  committed_price: string;
  on_demand_price: string;
  amount: string;
}

export interface StatementSection {
  public_id: string;
  name: string;
  /** 0 for the statement's org, 1 for its sub-orgs, … */
  depth: number;
  lines: StatementLine[];
  /** Σ amounts of the priced lines. */
  subtotal: string;
}

export interface StatementFigures {
  sections: StatementSection[];
  total: string;
  /** Products of the statement without a price (not in any amount). */
  not_priced: string[];
}

/** As on an invoice (and the finance mail): priced lines by amount, largest first, then the not-priced by code. */
function invoiceOrder(a: StatementLine, b: StatementLine): number {
  return (
    Number(b.priced) - Number(a.priced) ||
    cmp(dec(b.amount), dec(a.amount)) ||
    (a.usage_type < b.usage_type ? -1 : a.usage_type > b.usage_type ? 1 : 0)
  );
}

/** Per org of the scope, its products (invoice order) and subtotal; rows of an org outside the scope are never read. */
export function statementFigures(m: StatementModel): StatementFigures {
  const prices = new Map(m.prices.map((p) => [p.usage_type, p]));
  const depth = new Map<string, number>();
  for (const o of m.scope) depth.set(o.public_id, o.parent === null ? 0 : (depth.get(o.parent) ?? 0) + 1);
  const notPriced = new Set<string>();
  let total: Dec = ZERO;
  const sections = m.scope.map((o): StatementSection => {
    const rows = m.rows.filter((r) => r.public_id === o.public_id);
    const lines = rows.map((r): StatementLine => {
      const p = prices.get(r.usage_type);
      const priced = p !== undefined && isPriced(p);
      if (!priced) notPriced.add(r.usage_type);
      return {
        usage_type: r.usage_type,
        unit: p?.unit ?? '',
        priced,
        billable: r.billable,
        total_usage: r.total_usage,
        quantity: r.billable_usage,
        committed_usage: r.committed_usage,
        committed_cost: r.committed_cost,
        on_demand_usage: r.on_demand_usage,
        on_demand_cost: r.on_demand_cost,
        committed_price: p?.committed_price ?? '0',
        on_demand_price: p?.on_demand_price ?? '0',
        amount: r.total_cost,
      };
    });
    lines.sort(invoiceOrder);
    const subtotal = sum(lines.filter((l) => l.priced).map((l) => dec(l.amount)));
    total = add(total, subtotal);
    // Names as the version kept them win over the tree's (a rename after the close does not restate it).
    const name = rows[0]?.org_name ?? o.name;
    return {
      public_id: o.public_id,
      name,
      depth: depth.get(o.public_id) ?? 0,
      lines,
      subtotal: text(subtotal),
    };
  });
  return { sections, total: text(total), not_priced: [...notPriced].sort() };
}

/** The statement's own org name (as the version kept it). */
export const statementOrgName = (m: StatementModel): string =>
  m.rows.find((r) => r.public_id === m.org)?.org_name ?? m.scope[0]?.name ?? m.org;

/** `[orgtally] Client A: statement for November 2026 (final)`, or `(restated, version 2)`. */
export function statementSubject(m: StatementModel): string {
  const what =
    m.version > 1
      ? `restated, version ${m.version}${m.status === 'provisional' ? ', provisional' : ''}`
      : m.status;
  return `[orgtally] ${statementOrgName(m)}: statement for ${monthName(m.month)} (${what})`;
}

/** `Final`, `Provisional`, `Restated v2 (final)`, with how far the data is complete, in the account's zone. */
export function statementStatus(m: StatementModel): string {
  const status =
    m.version > 1 ? `Restated v${m.version} (${m.status})` : m.status === 'final' ? 'Final' : 'Provisional';
  return `${status}, complete ${completeThrough(m.data_complete_through, m.timezone)}`;
}

/** A note under the status: what provisional and restated mean for the reader. */
export function statementNote(m: StatementModel): string | undefined {
  const notes = [
    m.version > 1 ? `This statement replaces version ${m.version - 1}: late usage changed the month.` : '',
    m.status === 'provisional' ? 'Usage may still arrive: these figures can change.' : '',
  ].filter(Boolean);
  return notes.length ? notes.join(' ') : undefined;
}

/** `30 host`, `60.5 million events`. */
export const withUnit = (v: string, unit: string): string =>
  unit ? `${quantity(v)} ${unitFor(unit, v)}` : quantity(v);

/** A unit price, exact, at least two decimals: `USD 0.10`, `USD 0.0125`, `USD 1,500.00`. */
export const unitPrice = (v: string, currency: string): string => `${currency} ${price(v)}`;

/** An amount of the statement: always with its currency. */
export const amountOf = (v: string, currency: string): string => money(v, currency);
