import { orgTree } from '../../db/accounts';
import { consoleMonths, defaultMonth, latestTrendMonth } from '../../db/console-reads';
import { storedTrends, type StoredTrend } from '../../db/trends';
import { add, dec, text, ZERO } from '../../domain/exact';
import { previousMonth } from '../../domain/month-end';
import { orgSummaries, type OrgRow, type TotalRow } from '../../domain/month-end-report';
import { summarizeOrgs } from '../../domain/usage-summary';
import { requireOrg } from '../../queries/scope';
import { monthFiguresIfAny, type MonthFigures } from '../../queries/summary';
import { chartSvg, figure, PALETTE } from '../chart';
import { changeCell, money, monthName, pct, qty, when } from '../format';
import { href, html, type Html } from '../html';
import type { Page, PageCtx } from '../page';
import { monthQ, oneOf } from '../params';
import { monthOptions, orgTreeOf, statusBadge, wrap, type TreeOrg } from '../widgets';
import { USAGE_READ } from '../../domain/access';

/**
 * Usage: per product the figure of the account (or of the org chosen, with the orgs below it), its included and
 * on-demand parts, its cost and the change from the month before; the org tree with each org's share; and six
 * months of history per product. Closed months come from their month-end version, the month to date from the
 * close's own SQL over the hours so far.
 */
interface ProductLine {
  usage_type: string;
  unit: string;
  usage: string;
  included: string;
  on_demand: string;
  cost: string;
}

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
    const [figures, before, tree] = await Promise.all([
      monthFiguresIfAny(db, scope, { month, asOf }),
      monthFiguresIfAny(db, scope, { month: previousMonth(month), asOf }),
      orgTree(db, scope.accountId),
    ]);
    const orgs = orgTreeOf(tree, scope, root);
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
    const products = productLines(figures, orgs, root === scope.accountId, view);
    const previous =
      before &&
      new Map(productLines(before, orgs, root === scope.accountId, view).map((p) => [p.usage_type, p]));
    const product = oneOf(
      query,
      'product',
      products.map((p) => p.usage_type),
      products[0]?.usage_type ?? '',
    );
    const history = await historyOf(ctx, month, view, root, orgs);
    if (!products.length)
      return {
        title,
        body: html`${picker}
          <p>No usage of these organizations in ${monthName(month)} yet (${figures.source}).</p>
          <h2>Six months</h2>
          ${history}`,
      };
    return {
      title,
      body: html`${picker}
        <dl class="facts">
          <div>
            <dt>Month</dt>
            <dd>${monthName(month)}</dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd>${statusBadge(figures.status)}</dd>
          </div>
          <div>
            <dt>Data complete through</dt>
            <dd>${when(figures.data_complete_through)}</dd>
          </div>
          <div>
            <dt>Cost</dt>
            <dd>${money(text(products.reduce((a, p) => add(a, dec(p.cost)), ZERO)))}</dd>
          </div>
        </dl>
        <p class="hint">
          ${figures.source}.
          ${view === 'billable' ? 'Billable usage: trial orgs are left out.' : 'All usage, trial orgs included.'}
        </p>
        <h2>Products</h2>
        ${productTable(products, previous, figures.status === 'month_to_date')}
        <h2>Organizations</h2>
        ${orgTable(ctx, figures, orgs, product, products, view, month)}
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

/** The account's rows, or — for an org — the sums of the rows of the orgs in its subtree. */
function productLines(
  f: MonthFigures,
  orgs: readonly TreeOrg[],
  wholeAccount: boolean,
  view: 'billable' | 'all',
): ProductLine[] {
  if (wholeAccount)
    return f.totals.map((t: TotalRow) => ({
      usage_type: t.usage_type,
      unit: t.unit,
      usage: view === 'billable' ? t.billable_usage : t.total_usage,
      included: t.included_usage,
      on_demand: t.on_demand_usage,
      cost: t.total_cost,
    }));
  const ids = new Set(orgs.map((o) => o.public_id));
  const by = new Map<
    string,
    {
      unit: string;
      usage: ReturnType<typeof dec>;
      included: ReturnType<typeof dec>;
      on_demand: ReturnType<typeof dec>;
      cost: ReturnType<typeof dec>;
    }
  >();
  const units = new Map(f.totals.map((t) => [t.usage_type, t.unit]));
  for (const r of f.orgs) {
    if (!ids.has(r.public_id)) continue;
    const a = by.get(r.usage_type) ?? {
      unit: units.get(r.usage_type) ?? '',
      usage: ZERO,
      included: ZERO,
      on_demand: ZERO,
      cost: ZERO,
    };
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
      unit: a.unit,
      usage: text(a.usage),
      included: text(a.included),
      on_demand: text(a.on_demand),
      cost: text(a.cost),
    }));
}

function productTable(
  products: ProductLine[],
  previous: Map<string, ProductLine> | undefined,
  toDate: boolean,
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
              <td class="num">${money(p.cost)}</td>
              ${changeCell(previous ? (previous.get(p.usage_type)?.usage ?? '0') : undefined, p.usage)}
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

function orgTable(
  ctx: PageCtx,
  f: MonthFigures,
  orgs: readonly TreeOrg[],
  product: string,
  products: readonly ProductLine[],
  view: 'billable' | 'all',
  month: string,
): Html {
  // Shares are of the account, computed over every org before the scope's rows are picked (as the API does).
  const costs = new Map(orgSummaries(f.orgs).map((o) => [o.public_id, o]));
  const shares = new Map(
    summarizeOrgs(
      ctx.scope.accountId,
      f.orgs.filter((r) => r.usage_type === product),
      view,
    ).map((o) => [o.public_id, o]),
  );
  const rows = new Map<string, OrgRow>();
  for (const r of f.orgs) if (r.usage_type === product) rows.set(r.public_id, r);
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
              <td class="num">${money(c?.total_cost)}</td>
              <td class="num">${pct(c?.share_of_cost)}</td>
            </tr>`;
          })}
        </tbody>
      </table>`,
    )}`;
}

/** Six months per product, from the stored trends of the month (or of the last close before it). */
async function historyOf(
  ctx: PageCtx,
  month: string,
  view: 'billable' | 'all',
  root: string,
  orgs: readonly TreeOrg[],
): Promise<Html> {
  const { db, scope } = ctx;
  const at = await latestTrendMonth(db, scope.accountId, month);
  const stored = at && (await storedTrends(db, { accountId: scope.accountId, month: at, view }));
  if (!stored) return html`<p>No six-month history is stored yet: it is computed when a month is closed.</p>`;
  const all =
    root === scope.accountId ? stored.rows.filter((r) => r.scope === 'account') : summed(stored.rows, orgs);
  // A product with no usage in six months gets a name in a sentence, not an empty chart.
  const used = (s: { values: (string | null)[] }) =>
    s.values.some((v) => v !== null && !/^0(\.0*)?$/.test(v));
  const series = all.filter(used);
  const idle = all.filter((s) => !used(s)).map((s) => s.usage_type);
  return html`${at !== month ? html`<p class="hint">As of the close of ${monthName(at)}, the latest before ${monthName(month)}.</p>` : ''}
    ${idle.length ? html`<p>No ${view} usage in these six months: ${idle.join(', ')}.</p>` : ''}
    <div class="history-grid">
      ${series.map((s, i) =>
        figure({
          id: `history-${s.usage_type}`,
          caption: `${s.usage_type}: ${view} usage, ${monthName(stored.months[0] as string)} to ${monthName(stored.months.at(-1) as string)}`,
          chart: chartSvg(
            {
              grid: { left: 64, right: 16, top: 16, bottom: 32 },
              xAxis: { type: 'category', data: stored.months },
              yAxis: { type: 'value' },
              // Positions only: the exact figures are in the table beside the chart.
              series: [
                { type: 'bar', barMaxWidth: 36, data: s.values.map((v) => (v === null ? null : Number(v))) },
              ],
              color: [PALETTE[i % PALETTE.length] as string],
            },
            { width: 420, height: 200 },
          ),
          table: html`<table>
            <thead>
              <tr>
                <th scope="col">Month</th>
                <th scope="col" class="num">Usage</th>
              </tr>
            </thead>
            <tbody>
              ${stored.months.map(
                (m, k) =>
                  html`<tr>
                    <th scope="row">${m}</th>
                    <td class="num">${qty(s.values[k])}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`,
        }),
      )}
    </div>`;
}

/** The org rows of a subtree, summed per product month by month (a month no org has stays empty). */
function summed(
  rows: readonly StoredTrend[],
  orgs: readonly TreeOrg[],
): { usage_type: string; values: (string | null)[] }[] {
  const ids = new Set(orgs.map((o) => o.public_id));
  const by = new Map<string, (ReturnType<typeof dec> | null)[]>();
  for (const r of rows) {
    if (r.scope !== 'org' || !ids.has(r.public_id)) continue;
    const acc = by.get(r.usage_type) ?? r.values.map(() => null);
    r.values.forEach((v, k) => {
      if (v !== null) acc[k] = add(acc[k] ?? ZERO, dec(v));
    });
    by.set(r.usage_type, acc);
  }
  return [...by]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([usage_type, vs]) => ({ usage_type, values: vs.map((v) => (v === null ? null : text(v))) }));
}
