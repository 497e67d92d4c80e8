import { findVersion, totals as versionTotals } from '../../db/month-end-report';
import { tagMonthRows, tagMonthTotals, tagMonthVersions, type TagMonthRow } from '../../db/tag-months';
import { COST_READ, denial } from '../../domain/access';
import type { Cell } from '../../domain/attribution';
import { dec, divRound, isZero, mul, text } from '../../domain/exact';
import { unpricedOf } from '../../queries/prices';
import { orgFilter } from '../../queries/scope';
import { chartSvg, figure } from '../chart';
import { cost, monthName, pct, qty } from '../format';
import { href, html, type Html } from '../html';
import type { PageCtx } from '../page';
import { badParam, oneOf } from '../params';
import { wrap } from '../widgets';

/**
 * A closed month by tag (the API's monthly usage and cost attribution, same rows, same scope): the ten largest
 * org-and-tag combinations of one product as bars beside their table, then every combination, a page at a time.
 * Cost needs billing_read at the root org, as the API's cost attribution does.
 */
const PAGE_SIZE = 50;
const TOP = 10;

export async function tagSummarySection(ctx: PageCtx, month: string | undefined): Promise<Html> {
  const { db, scope, query } = ctx;
  if (!month)
    return html`<h2 id="by-tag">Monthly summary by tag</h2>
      <p>No month is closed yet: the summary by tag is made when a month is closed.</p>`;
  const sel = { accountId: scope.accountId, fromMonth: month, toMonth: month, orgs: orgFilter(scope) };
  const [{ tagKeys }, totals] = await Promise.all([tagMonthVersions(db, sel), tagMonthTotals(db, sel)]);
  const codes = totals.map((t) => t.usage_type);
  // The first product with usage: a product whose month rounds to 0 (a p99 of sparse hours) shows no bars.
  const product = oneOf(
    query,
    'product',
    codes,
    totals.find((t) => !isZero(dec(t.usage)))?.usage_type ?? codes[0] ?? '',
  );
  const measures = denial(scope, COST_READ) ? (['usage'] as const) : (['usage', 'cost'] as const);
  const measure = oneOf<'usage' | 'cost'>(query, 'measure', measures, 'usage');
  const page = pageQ(query);
  const rows = await tagMonthRows(db, {
    ...sel,
    sortProduct: product,
    sortMeasure: measure,
    descending: true,
    offset: (page - 1) * PAGE_SIZE,
    limit: PAGE_SIZE + 1,
  });
  const top =
    page === 1
      ? rows.slice(0, TOP)
      : await tagMonthRows(db, {
          ...sel,
          sortProduct: product,
          sortMeasure: measure,
          descending: true,
          offset: 0,
          limit: TOP,
        });
  const total = totals.find((t) => t.usage_type === product);
  const totalValue = measure === 'cost' ? total?.total_cost : total?.usage;
  const value = (r: TagMonthRow) => {
    const f = r.values[product];
    return f === undefined ? undefined : measure === 'cost' ? f.total_cost : f.usage;
  };
  // A product without a price in the month's version has no cost to rank by: its cells say so, not 0.00.
  const priced = measure === 'cost' ? await pricedIn(ctx, month, product) : true;
  const shown = (v: string | undefined) => (measure === 'cost' ? cost(v, scope.currency, priced) : qty(v));
  const topRows = top.filter((r) => value(r) !== undefined && !isZero(dec(value(r) as string)));
  const label = (r: TagMonthRow) => `${r.org_name} · ${tagText(tagKeys, r.cells)}`;
  const caption = `${monthName(month)}: the ${TOP} largest tag combinations by ${measure === 'cost' ? 'cost' : 'usage'} of ${product}`;
  const chart = topRows.length
    ? figure({
        id: 'top-tags',
        caption,
        chart: chartSvg(
          {
            grid: { left: 200, right: 24, top: 8, bottom: 28 },
            xAxis: { type: 'value' },
            yAxis: {
              type: 'category',
              inverse: true,
              data: topRows.map(label),
              // Server-side, ECharts estimates text widths; DejaVu Sans runs wider, hence the slack to grid.left.
              axisLabel: { width: 150, overflow: 'truncate' },
            },
            // Positions only: the exact figures are in the table beside the chart.
            series: [{ type: 'bar', barMaxWidth: 18, data: topRows.map((r) => Number(value(r))) }],
          },
          { width: 560, height: 40 + 26 * topRows.length },
        ),
        table: html`<table id="top-tags-table">
          <thead>
            <tr>
              <th scope="col">Organization · tags</th>
              <th scope="col" class="num">${measure === 'cost' ? 'Cost' : 'Usage'}</th>
              <th scope="col" class="num">Share</th>
            </tr>
          </thead>
          <tbody>
            ${topRows.map(
              (r) =>
                html`<tr>
                  <th scope="row">${label(r)}</th>
                  <td class="num">${shown(value(r))}</td>
                  <td class="num">${share(value(r), totalValue)}</td>
                </tr>`,
            )}
          </tbody>
        </table>`,
      })
    : html`<p>${product} has no ${measure} in ${monthName(month)} for the organizations you can see.</p>`;
  return html`<h2 id="by-tag">Monthly summary by tag</h2>
    <form method="get" action="/attribution" class="filters">
      <input type="hidden" name="month" value="${month}" />
      <div>
        <label for="product">Product</label>
        <select id="product" name="product">
          ${codes.map((c) => html`<option value="${c}" ${c === product ? html`selected` : ''}>${c}</option>`)}
        </select>
      </div>
      <div>
        <label for="measure">By</label>
        <select id="measure" name="measure">
          ${measures.map((m) => html`<option value="${m}" ${m === measure ? html`selected` : ''}>${m}</option>`)}
        </select>
      </div>
      <button type="submit" class="secondary">Show</button>
    </form>
    <dl class="facts">
      <div>
        <dt>Tag keys of the month</dt>
        <dd>${tagKeys.join(', ') || 'none'}</dd>
      </div>
      <div>
        <dt>${product} in total</dt>
        <dd>${shown(totalValue)}</dd>
      </div>
    </dl>
    ${chart} ${allRows(ctx, { month, product, measure, page, rows, tagKeys, value, shown })}`;
}

async function pricedIn(ctx: PageCtx, month: string, product: string): Promise<boolean> {
  const v = await findVersion(ctx.db, ctx.scope.accountId, month);
  return !v || !unpricedOf(await versionTotals(ctx.db, v)).includes(product);
}

function pageQ(q: Record<string, string | undefined>): number {
  const v = q.page;
  if (v === undefined || v === '') return 1;
  if (!/^[1-9]\d{0,5}$/.test(v)) throw badParam('page', `"${v}" is not a page number (1, 2, …)`);
  return Number(v);
}

/** `team:web, env:prod`; an untagged key is shown as such, a key present without value as `team:` (Datadog). */
export function tagText(keys: readonly string[], cells: readonly Cell[]): string {
  if (!keys.length) return 'no tag keys';
  return keys.map((k, i) => `${k}:${cells[i] ?? '(untagged)'}`).join(', ');
}

function share(v: string | undefined, total: string | undefined): string {
  if (v === undefined || total === undefined || isZero(dec(total))) return '—';
  return pct(text(divRound(mul(dec(v), dec(100)), dec(total), 1)));
}

function allRows(
  ctx: PageCtx,
  q: {
    month: string;
    product: string;
    measure: 'usage' | 'cost';
    page: number;
    rows: TagMonthRow[];
    tagKeys: string[];
    value: (r: TagMonthRow) => string | undefined;
    shown: (v: string | undefined) => string;
  },
): Html {
  const rows = q.rows.slice(0, PAGE_SIZE);
  const more = q.rows.length > PAGE_SIZE;
  const link = (page: number) =>
    href('/attribution', { month: q.month, product: q.product, measure: q.measure, page: String(page) });
  if (!rows.length) return html`<p>There are no rows on page ${q.page}.</p>`;
  return html`${wrap(
      html`<table id="by-tag-rows">
        <caption>
          Every organization and tag combination, largest ${q.product} ${q.measure} first (rows
          ${(q.page - 1) * PAGE_SIZE + 1}–${(q.page - 1) * PAGE_SIZE + rows.length})
        </caption>
        <thead>
          <tr>
            <th scope="col">Organization</th>
            ${q.tagKeys.map((k) => html`<th scope="col">${k}</th>`)}
            <th scope="col" class="num">${q.product} ${q.measure}</th>
            <th scope="col" class="num">Share of org</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (r) =>
              html`<tr>
                <th scope="row">${r.org_name} <span class="muted">${r.public_id}</span></th>
                ${q.tagKeys.map((_, i) => html`<td>${r.cells[i] ?? html`<span class="muted">untagged</span>`}</td>`)}
                <td class="num">${q.shown(q.value(r))}</td>
                <td class="num">${pct(r.values[q.product]?.percentage)}</td>
              </tr>`,
          )}
        </tbody>
      </table>`,
    )}
    <p>
      ${q.page > 1 ? html`<a href="${link(q.page - 1)}">Previous ${PAGE_SIZE}</a>` : ''}
      ${more ? html`<a href="${link(q.page + 1)}">Next ${PAGE_SIZE}</a>` : ''}
    </p>`;
}
