import { orgTree } from '../../db/accounts';
import { USAGE_READ } from '../../domain/access';
import { consoleMonths, defaultMonth } from '../../db/console-reads';
import { add, dec, text, ZERO } from '../../domain/exact';
import { previousMonth } from '../../domain/month-end';
import { requireOrg } from '../../queries/scope';
import { excludesNote, money, monthName } from '../format';
import { html, type Html } from '../html';
import type { Page, PageCtx } from '../page';
import { monthQ, oneOf } from '../params';
import { monthFacts, monthOptions, orgTreeOf } from '../widgets';
import { historyOf } from './usage-history';
import { usageMonth } from './usage-data';
import { orgTable, productTable } from './usage-tables';

/**
 * Usage: per product the figure of the account (or of the org chosen, with the orgs below it), its included and
 * on-demand parts, its cost and the change from the month before; the org tree with each org's share; and six
 * months of history per product. Closed months come from their month-end version, the month to date from the
 * close's own SQL over the hours so far.
 */
export const usagePage: Page = {
  path: '/usage',
  nav: 'Usage',
  need: USAGE_READ,
  async render(ctx) {
    const { db, scope, query } = ctx;
    const asOf = new Date(ctx.now).toISOString();
    const months = await consoleMonths(db, scope.accountId, asOf);
    const month = monthQ(query) ?? (defaultMonth(months) as string);
    const view = oneOf(query, 'view', ['billable', 'all'] as const, 'billable');
    const root = query.org ?? scope.org;
    requireOrg(scope, root);
    const orgs = orgTreeOf(await orgTree(db, scope.accountId), scope, root);
    const subtree = root === scope.accountId ? undefined : orgs.map((o) => o.public_id);
    const [figures, before] = await Promise.all([
      usageMonth(db, scope, { month, asOf, view, orgs: subtree }),
      usageMonth(db, scope, { month: previousMonth(month), asOf, view, orgs: subtree }),
    ]);
    const title = root === scope.accountId ? 'Usage' : `Usage of ${scope.orgs.get(root) ?? root}`;
    const picker = filters(ctx, months, month, view, root);
    if (!figures)
      return {
        title,
        body: html`${picker}
          <p>
            There is no usage for ${monthName(month)}: the month has not begun, or lies before the account's
            first usage.
          </p>`,
      };
    const products = figures.products;
    const previous = before && new Map(before.products.map((p) => [p.usage_type, p]));
    const product = oneOf(
      query,
      'product',
      products.map((p) => p.usage_type),
      products[0]?.usage_type ?? '',
    );
    const [history, rows, costs] = await Promise.all([
      historyOf(ctx, month, view, root, orgs),
      figures.productRows(product),
      figures.costs(),
    ]);
    if (!products.length)
      return {
        title,
        body: html`${picker}
          <p>No usage of these organizations in ${monthName(month)} yet (${figures.source}).</p>
          <h2>Six months</h2>
          ${history}`,
      };
    const unpriced = products.filter((p) => !p.priced).map((p) => p.usage_type);
    const total = text(products.reduce((a, p) => add(a, dec(p.cost)), ZERO));
    return {
      title,
      body: html`${picker}
        ${monthFacts(
          { month, status: figures.status, data_complete_through: figures.data_complete_through },
          [{ label: 'Cost', value: money(total, scope.currency), id: 'usage-cost' }],
        )}
        <p class="hint">
          ${figures.source}.
          ${view === 'billable' ? 'Billable usage: trial orgs are left out.' : 'All usage, trial orgs included.'}
          Amounts are in
          ${scope.currency}${unpriced.length ? `; every cost total ${excludesNote(unpriced)}` : ''}.
        </p>
        <h2>Products</h2>
        ${productTable(products, previous, figures.status === 'month_to_date', scope.currency)}
        <h2>Organizations</h2>
        ${orgTable(ctx, { costs, rows }, orgs, product, products, view, month)}
        <h2>Six months</h2>
        ${history}`,
    };
  },
};

function filters(
  ctx: PageCtx,
  months: Parameters<typeof monthOptions>[0],
  month: string,
  view: string,
  root: string,
): Html {
  return html`<form method="get" action="/usage" class="filters">
    ${root !== ctx.scope.org ? html`<input type="hidden" name="org" value="${root}" />` : ''}
    <div>
      <label for="month">Month</label
      ><select id="month" name="month">
        ${monthOptions(months, month)}
      </select>
    </div>
    <div>
      <label for="view">View</label>
      <select id="view" name="view">
        <option value="billable" ${view === 'billable' ? html`selected` : ''}>Billable</option>
        <option value="all" ${view === 'all' ? html`selected` : ''}>All usage</option>
      </select>
    </div>
    <button type="submit" class="secondary">Show</button>
  </form>`;
}
