import type { ProductOrgRow } from '../../db/console-usage';
import type { OrgSummary } from '../../domain/month-end-report';
import { summarizeOrgs } from '../../domain/usage-summary';
import { changeCell, cost, money, pct, qty } from '../format';
import { href, html, type Html } from '../html';
import type { PageCtx } from '../page';
import { wrap, type TreeOrg } from '../widgets';
import type { ProductLine } from './usage-data';

/** The Usage page's two tables: per product, and per org of the tree. */
export function productTable(
  products: ProductLine[],
  previous: Map<string, ProductLine> | undefined,
  toDate: boolean,
  currency: string,
): Html {
  return wrap(
    html`<table id="products">
      <caption>
        Per product${toDate ? ' (change: against the whole previous month)' : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Product</th>
          <th scope="col">Unit</th>
          <th scope="col" class="num">Usage</th>
          <th scope="col" class="num">Included</th>
          <th scope="col" class="num">On-demand</th>
          <th scope="col" class="num">Cost</th>
          <th scope="col" class="num">Change in usage</th>
        </tr>
      </thead>
      <tbody>
        ${products.map(
          (p) =>
            html`<tr>
              <th scope="row">${p.usage_type}</th>
              <td>${p.unit}</td>
              <td class="num">${qty(p.usage)}</td>
              <td class="num">${qty(p.included)}</td>
              <td class="num">${qty(p.on_demand)}</td>
              <td class="num">${cost(p.cost, currency, p.priced)}</td>
              ${changeCell(previous ? (previous.get(p.usage_type)?.usage ?? '0') : undefined, p.usage)}
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

export function orgTable(
  ctx: PageCtx,
  data: { costs: readonly OrgSummary[]; rows: readonly ProductOrgRow[] },
  orgs: readonly TreeOrg[],
  product: string,
  products: readonly ProductLine[],
  view: 'billable' | 'all',
  month: string,
): Html {
  // Shares are of the account, computed over every org before the scope's rows are picked (as the API does).
  const costs = new Map(data.costs.map((o) => [o.public_id, o]));
  const shares = new Map(summarizeOrgs(ctx.scope.accountId, data.rows, view).map((o) => [o.public_id, o]));
  const rows = new Map(data.rows.map((r) => [r.public_id, r]));
  return html`<form method="get" action="/usage" class="filters">
      <input type="hidden" name="month" value="${month}" /><input type="hidden" name="view" value="${view}" />
      ${orgs[0] && orgs[0].public_id !== ctx.scope.org ? html`<input type="hidden" name="org" value="${orgs[0].public_id}" />` : ''}
      <div>
        <label for="product">Product shown per org</label>
        <select id="product" name="product">
          ${products.map((p) => html`<option value="${p.usage_type}" ${p.usage_type === product ? html`selected` : ''}>${p.usage_type}</option>`)}
        </select>
      </div>
      <button type="submit" class="secondary">Show</button>
    </form>
    ${wrap(
      html`<table id="orgs">
        <caption>
          Organizations: ${product} and cost, with their shares of the account
        </caption>
        <thead>
          <tr>
            <th scope="col">Organization</th>
            <th scope="col" class="num">${product}</th>
            <th scope="col" class="num">Share of account</th>
            <th scope="col" class="num">Cost</th>
            <th scope="col" class="num">Share of account cost</th>
          </tr>
        </thead>
        <tbody>
          ${orgs.map((o) => {
            const r = rows.get(o.public_id);
            const c = costs.get(o.public_id);
            const usage = r ? (view === 'billable' ? r.billable_usage : r.total_usage) : undefined;
            return html`<tr>
              <th scope="row" class="depth-${Math.min(o.depth, 4)}">
                <a href="${href('/usage', { month, view, org: o.public_id })}">${o.name}</a>
                <span class="muted">${o.public_id}</span
                >${r && !r.billable ? html` <span class="tag">trial</span>` : ''}
              </th>
              <td class="num">${qty(usage)}</td>
              <td class="num">${pct(shares.get(o.public_id)?.percentage_in_account)}</td>
              <td class="num">${money(c?.total_cost, ctx.scope.currency)}</td>
              <td class="num">${pct(c?.share_of_cost)}</td>
            </tr>`;
          })}
        </tbody>
      </table>`,
    )}`;
}
