import { orgCostsByMonth, type OrgMonthCost } from '../../db/console-cost';
import { consoleMonths, defaultMonth, type ConsoleMonth } from '../../db/console-reads';
import { committedCosts, estimateReport } from '../../db/estimate-reads';
import { COST_READ } from '../../domain/access';
import { dec, sum, text } from '../../domain/exact';
import { previousMonth } from '../../domain/month-end';
import { orgSummaries, type OrgRow } from '../../domain/month-end-report';
import { unpricedOf } from '../../queries/prices';
import { monthFiguresIfAny, type MonthFigures } from '../../queries/summary';
import { money, monthName, type Pricing } from '../format';
import { html, type Html } from '../html';
import type { Action, Page, PageCtx } from '../page';
import { monthQ } from '../params';
import { monthFacts, monthOptions } from '../widgets';
import { billBlock, projectedBill, type Projection } from './cost-bill';
import { chargebackTable, type PreviousCost } from './cost-chargeback';
import { historyBlock } from './cost-history';

/**
 * Cost: the account's bill of a month (so far and projected, committed and on-demand), six months of cost per
 * org, and the chargeback sheet of the month. Account-level, so the root org's only (COST_READ). Each block is
 * one set-based read: the month's figures, the closed months' org costs, the latest estimate.
 */
const HISTORY_MONTHS = 6;

/** The `n` months ending at `month`, oldest first. */
function monthsEnding(month: string, n: number): string[] {
  const out = [month];
  while (out.length < n) out.unshift(previousMonth(out[0] as string));
  return out;
}

const orgCosts = (month: string, rows: readonly OrgRow[]): OrgMonthCost[] =>
  orgSummaries(rows).map((o) => ({
    month,
    public_id: o.public_id,
    org_name: o.org_name,
    billable: o.billable,
    total_cost: o.total_cost,
  }));

export const costPage: Page = {
  path: '/cost',
  nav: 'Cost',
  need: COST_READ,
  async render(ctx) {
    const { db, scope } = ctx;
    const asOf = new Date(ctx.now).toISOString();
    const months = await consoleMonths(db, scope.accountId, asOf);
    const month = monthQ(ctx.query) ?? (defaultMonth(months) as string);
    const six = monthsEnding(month, HISTORY_MONTHS);
    const [figures, closed, estimate] = await Promise.all([
      monthFiguresIfAny(db, scope, { month, asOf }),
      orgCostsByMonth(db, scope.accountId, six[0] as string, month),
      estimateReport(db, scope.accountId),
    ]);
    const picker = filters(months, month);
    if (!figures)
      return {
        title: 'Cost',
        body: html`${picker}
          <p>
            There is no cost for ${monthName(month)}: the month has not begun, or lies before the account's
            first usage. Choose another month.
          </p>`,
      };
    const projection: Projection | undefined =
      figures.status === 'month_to_date' && estimate?.run.month === month
        ? { ...estimate, committed: await committedCosts(db, scope.accountId) }
        : undefined;
    // The selected month comes from its figures (live for the month to date), the others from their closes.
    const history = [...closed.filter((r) => r.month !== month), ...orgCosts(month, figures.orgs)].sort(
      (a, b) => (a.month < b.month ? -1 : a.month > b.month ? 1 : 0),
    );
    const present = new Set(history.map((r) => r.month));
    const before = await previousCosts(ctx, previousMonth(month), closed, asOf);
    // The selected month's prices: its version's, or the commitments' now for a month not closed.
    const pricing: Pricing = { currency: scope.currency, unpriced: unpricedOf(figures.totals) };
    return {
      title: `Cost: ${monthName(month)}`,
      body: html`${picker} ${facts(month, figures, projection, pricing)}
        <p class="hint" id="cost-currency">
          All amounts are in
          ${scope.currency}.${
            pricing.unpriced.length
              ? " Products without a price in the account's spec are not priced: no cost is shown for them, and each total says it leaves them out."
              : ''
          }
        </p>
        <h2>Bill</h2>
        ${billBlock(month, figures, projection, pricing)}
        <h2>Cost per organization, six months</h2>
        ${historyBlock(six, present, history, pricing)}
        <h2>Chargeback</h2>
        ${chargebackTable(month, figures.orgs, before, pricing)}`,
    };
  },
};

/** The previous month's cost per org: from its close, or — not closed yet — from its live figures. */
async function previousCosts(
  ctx: PageCtx,
  prev: string,
  closed: readonly OrgMonthCost[],
  asOf: string,
): Promise<{ month: string; costs: Map<string, PreviousCost> } | undefined> {
  let rows = closed.filter((r) => r.month === prev);
  if (!rows.length) {
    const f = await monthFiguresIfAny(ctx.db, ctx.scope, { month: prev, asOf });
    if (!f) return undefined;
    rows = orgCosts(prev, f.orgs);
  }
  return { month: prev, costs: new Map(rows.map((r) => [r.public_id, r])) };
}

function filters(months: readonly ConsoleMonth[], month: string): Html {
  return html`<form method="get" action="/cost" class="filters">
    <div>
      <label for="month">Month</label
      ><select id="month" name="month">
        ${monthOptions(months, month)}
      </select>
    </div>
    <button type="submit" class="secondary">Show</button>
  </form>`;
}

function facts(month: string, f: MonthFigures, p: Projection | undefined, pricing: Pricing): Html {
  const cost = text(sum(f.totals.map((t) => dec(t.total_cost))));
  const projected = p && projectedBill(p).total;
  return monthFacts({ month, status: f.status, data_complete_through: f.data_complete_through }, [
    {
      label: f.status === 'month_to_date' ? 'Cost so far' : 'Cost',
      value: money(cost, pricing.currency),
      id: 'cost-total',
    },
    ...(projected
      ? [{ label: 'Projected', value: money(projected, pricing.currency), id: 'cost-projected' }]
      : []),
  ]);
}

export const costPages: Page[] = [costPage];

export const costActions: Action[] = [];
