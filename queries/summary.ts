import type { Knex } from 'knex';
import { monthToDate } from '../db/month-to-date';
import { productPrices } from '../db/product-prices';
import { byOrg, findVersion, firstUsage, monthStatus, totals } from '../db/month-end-report';
import type { View } from '../domain/trends';
import { summarizeOrgs, type SummaryOrg, type SummaryTotal } from '../domain/usage-summary';
import { checkMonth } from '../domain/month-end';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { notFound, type Scope } from './scope';
import type { OrgRow, TotalRow } from '../domain/month-end-report';
import { unpricedOf } from './prices';

/**
 * The multi-org usage summary of a month (Datadog's "Overall" and "Individual organizations"): from its latest
 * month-end version, or — for a month not closed — computed live with the close's SQL over the hours elapsed.
 */
export interface UsageSummary {
  source: string;
  status: 'provisional' | 'final' | 'month_to_date' | 'not_closed';
  data_complete_through: string;
  /** ISO 4217: the currency of every cost. */
  currency: string;
  /** Per product, account-wide: the root org's view only. `priced: false`: the product has no price. */
  usage: (SummaryTotal & { priced: boolean })[] | undefined;
  orgs: (SummaryOrg & { priced: boolean })[];
}

/** A month's figures: its latest month-end version, or — for a month not closed — the close's SQL over the hours elapsed. */
export interface MonthFigures {
  source: string;
  status: UsageSummary['status'];
  data_complete_through: string;
  /** Hours of the month the figures cover, and the month's own. */
  hours: number;
  month_hours: number;
  start: string;
  end: string;
  totals: TotalRow[];
  /** Every org's rows: shares are of the account's usage. Callers pick the rows their scope may see. */
  orgs: OrgRow[];
}

export async function monthFigures(
  db: Knex,
  scope: Scope,
  q: { month: string; asOf: string },
): Promise<MonthFigures> {
  checkMonth(q.month);
  const st = await monthStatus(db, scope.accountId, q.month, q.asOf);
  const v = st.versions.length ? await findVersion(db, scope.accountId, q.month) : undefined;
  if (v) {
    return {
      source: `month-end version ${v.version} (${v.status})`,
      status: v.status,
      data_complete_through: v.data_complete_through,
      hours: v.hours,
      month_hours: v.hours,
      start: st.start,
      end: st.end,
      totals: await totals(db, v),
      orgs: await byOrg(db, v),
    };
  }
  // A month that has not begun, or lies wholly before the account's first usage, has nothing to sum: saying
  // so beats a table of zeros with the commitment's cost.
  if (Date.parse(st.start) > Date.parse(q.asOf))
    throw notFound(`${scope.accountId} ${q.month} has not begun (it starts ${st.start})`);
  const first = await firstUsage(db, scope.accountId);
  if (first === null || Date.parse(first) >= Date.parse(st.end))
    throw notFound(
      `${scope.accountId} has no usage in ${q.month}` +
        (first ? ` (its first usage is of ${first})` : ' (none ingested yet)'),
    );
  const mtd = await monthToDate(db, { accountId: scope.accountId, month: q.month, asOf: q.asOf });
  return {
    source: st.ended
      ? `not closed yet: computed over the whole month (${mtd.hours} h), provisional`
      : `month-to-date over ${mtd.hours} h through ${mtd.periodEnd} (not closed; provisional)`,
    status: st.ended ? 'not_closed' : 'month_to_date',
    data_complete_through: mtd.dataCompleteThrough,
    hours: mtd.hours,
    month_hours: mtd.monthHours,
    start: st.start,
    end: st.end,
    totals: await withPrices(db, scope.accountId, mtd.totals),
    orgs: mtd.orgs,
  };
}

/**
 * The month to date's rows with their products' prices. db/month-to-date.ts does not select them (yet): they are
 * read here, as that computation prices them (the commitments now); a row that has them keeps its own.
 */
async function withPrices(db: Knex, accountId: string, rows: TotalRow[]): Promise<TotalRow[]> {
  if (rows.every((r) => r.committed_price !== undefined && r.on_demand_price !== undefined)) return rows;
  const prices = new Map((await productPrices(db, accountId)).map((p) => [p.usage_type, p]));
  return rows.map((r) => ({
    ...r,
    committed_price: r.committed_price ?? prices.get(r.usage_type)?.committed_price ?? '0',
    on_demand_price: r.on_demand_price ?? prices.get(r.usage_type)?.on_demand_price ?? '0',
  }));
}

/** monthFigures, or undefined for a month that has none (not begun, or before the first usage). */
export async function monthFiguresIfAny(
  db: Knex,
  scope: Scope,
  q: { month: string; asOf: string },
): Promise<MonthFigures | undefined> {
  try {
    return await monthFigures(db, scope, q);
  } catch (err) {
    if (err instanceof OrgtallyError && err.type === ErrorType.NotFound) return undefined;
    throw err;
  }
}

export async function usageSummary(
  db: Knex,
  scope: Scope,
  q: { month: string; view: View; asOf: string },
): Promise<UsageSummary> {
  const data = await monthFigures(db, scope, q);
  // Shares are of the account's usage, computed over every org before the caller's rows are picked.
  const unpriced = new Set(unpricedOf(data.totals));
  const orgs = summarizeOrgs(scope.accountId, data.orgs, q.view)
    .filter((r) => scope.parentLevel || scope.orgs.has(r.public_id))
    .map((r) => ({ ...r, priced: !unpriced.has(r.usage_type) }));
  return {
    source: data.source,
    status: data.status,
    data_complete_through: data.data_complete_through,
    currency: scope.currency,
    usage: scope.parentLevel
      ? data.totals.map((t) => ({
          usage_type: t.usage_type,
          unit: t.unit,
          total_usage: t.total_usage,
          billable_usage: t.billable_usage,
          committed_cost: t.committed_cost,
          on_demand_cost: t.on_demand_cost,
          total_cost: t.total_cost,
          priced: !unpriced.has(t.usage_type),
        }))
      : undefined,
    orgs,
  };
}
