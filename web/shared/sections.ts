import type { DayValue, TagRow } from '../../db/shared-usage';
import type { OpenShare } from '../../db/shares';
import { DAY_MS } from '../../domain/time';
import { figure } from '../chart';
import { smallMultiples } from '../small-multiples';
import { cost, monthName, pct, qty, whenIn } from '../format';
import { html, type Html } from '../html';
import type { ProductLine } from '../pages/usage-data';
import { statusBadge, wrap, type TreeOrg } from '../widgets';

/** The sections of a shared dashboard (web/shared/dashboard.ts reads, these draw). */
export interface Estimate {
  asOf: string;
  computedAt: string;
  byProduct: ReadonlyMap<string, { mtd: string; projected: string }>;
}

const isZero = (v: string) => /^-?0(\.0*)?$/.test(v);

export function statusFacts(q: {
  month: string;
  status: string;
  through: string;
  estimate: Estimate | undefined;
  zone: string;
}): Html {
  const fact = (label: string, value: Html | string, id?: string) =>
    html`<div>
      <dt>${label}</dt>
      <dd ${id ? html`id="${id}"` : ''}>${value}</dd>
    </div>`;
  return html`<dl class="facts" aria-label="Data status">
    ${fact('Month', monthName(q.month))}
    ${fact('Status', html`${statusBadge(q.status)} ${q.status === 'final' ? '' : html`<span class="hint">figures may still change</span>`}`)}
    ${fact('Complete through', whenIn(q.through, q.zone), 'complete-through')}
    ${q.estimate ? fact('Estimated at', whenIn(q.estimate.asOf, q.zone), 'estimated-at') : ''}
  </dl>`;
}

/** Per product: usage so far, the estimate of the month's end, and — when the share shows them — the org's
 * share of the commitment and allotments, the on-demand part and the cost. */
export function monthTable(
  products: readonly ProductLine[],
  est: Estimate | undefined,
  share: Pick<OpenShare, 'show_cost' | 'show_commitment'>,
  currency: string,
): Html {
  if (!products.length) return html`<p>No usage this month yet.</p>`;
  return wrap(
    html`<table id="month-table">
      <thead>
        <tr>
          <th scope="col">Product</th>
          <th scope="col">Unit</th>
          <th scope="col" class="num">Billable usage</th>
          ${est ? html`<th scope="col" class="num">Estimated at month end</th>` : ''}
          ${
            share.show_commitment
              ? html`<th scope="col" class="num">Included (your share)</th>
                  <th scope="col" class="num">On demand</th>`
              : ''
          }
          ${share.show_cost ? html`<th scope="col" class="num">Cost</th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${products.map((p) => {
          const e = est?.byProduct.get(p.usage_type);
          return html`<tr>
            <th scope="row">${p.usage_type}</th>
            <td>${p.unit}</td>
            <td class="num">${qty(p.usage)}</td>
            ${est ? html`<td class="num">${qty(e?.projected)}</td>` : ''}
            ${
              share.show_commitment
                ? html`<td class="num">${qty(p.included)}</td>
                    <td class="num">${qty(p.on_demand)}</td>`
                : ''
            }
            ${share.show_cost ? html`<td class="num">${cost(p.cost, currency, p.priced)}</td>` : ''}
          </tr>`;
        })}
      </tbody>
    </table>`,
  );
}

/** The last days per product as small multiples (one chart), with every figure in the table beside it. */
export function dailyFigure(rows: readonly DayValue[], from: string, days: number): Html {
  const dayList = Array.from({ length: days }, (_, i) =>
    new Date(Date.parse(`${from}T00:00:00Z`) + i * DAY_MS).toISOString().slice(0, 10),
  );
  const by = new Map<string, { unit: string; values: Map<string, string> }>();
  for (const r of rows) {
    const p = by.get(r.usage_type) ?? { unit: r.unit, values: new Map<string, string>() };
    p.values.set(r.day, r.value);
    by.set(r.usage_type, p);
  }
  const used = [...by].filter(([, p]) => [...p.values.values()].some((v) => !isZero(v)));
  if (!used.length) return html`<p>No usage in the last ${days} days.</p>`;
  const chart = smallMultiples({
    panels: used.map(([code, p]) => ({
      title: `${code} (${p.unit})`,
      values: dayList.map((d) => p.values.get(d)),
    })),
    categories: dayList.map((d) => d.slice(5).replace('-', '/')),
    height: 140,
    barMaxWidth: 8,
    labelInterval: 6,
  });
  return figure({
    id: 'daily',
    caption: `Usage per day, ${dayList[0]} to ${dayList.at(-1)} (the account's calendar days)`,
    chart,
    // Thirty rows of figures would push the rest of the page away: they are one click off, still in the page.
    table: html`<details>
      <summary>The figures, day by day</summary>
      ${wrap(
        html`<table id="daily-table">
          <thead>
            <tr>
              <th scope="col">Day</th>
              ${used.map(([code, p]) => html`<th scope="col" class="num">${code} (${p.unit})</th>`)}
            </tr>
          </thead>
          <tbody>
            ${dayList.map(
              (d) =>
                html`<tr>
                  <th scope="row">${d}</th>
                  ${used.map(([, p]) => html`<td class="num">${qty(p.values.get(d))}</td>`)}
                </tr>`,
            )}
          </tbody>
        </table>`,
      )}
    </details>`,
  });
}

export function tagsTable(
  t: { rows: TagRow[]; total: string; combinations: number },
  q: { month: string; filters: Record<string, string> },
): Html {
  const f = Object.entries(q.filters).map(([k, v]) => `${k}:${v}`);
  const scope = `${monthName(q.month)} so far, from the daily attribution${f.length ? `, where ${f.join(' and ')}` : ''}`;
  if (!t.rows.length) return html`<p>No attributed usage matches (${scope}).</p>`;
  return html`<p class="hint">
      ${scope}: ${t.combinations} combination${t.combinations === 1 ? '' : 's'}; Σ hourly usage.
    </p>
    ${wrap(
      html`<table id="tags-table">
        <thead>
          <tr>
            <th scope="col">Tags</th>
            <th scope="col" class="num">Usage</th>
            <th scope="col" class="num">Share</th>
          </tr>
        </thead>
        <tbody>
          ${t.rows.map(
            (r) =>
              html`<tr>
                <th scope="row">${r.tags}</th>
                <td class="num">${qty(r.usage)}</td>
                <td class="num">${pct(r.share)}</td>
              </tr>`,
          )}
        </tbody>
      </table>`,
    )}`;
}

/** A GET form back to the same link: it narrows (org, product, tag) and picks the zone times are shown in. */
export function filtersForm(q: {
  orgs: readonly TreeOrg[];
  org: string;
  products: readonly string[];
  product: string | undefined;
  tag: string | undefined;
  zone: string;
}): Html {
  return html`<form method="get" class="filters" aria-label="Narrow this dashboard">
    ${
      q.orgs.length > 1
        ? html`<label
            >Organization
            <select name="org">
              ${q.orgs.map(
                (o) =>
                  html`<option value="${o.public_id}" ${o.public_id === q.org ? html`selected` : ''}>
                    ${'  '.repeat(o.depth)}${o.name}
                  </option>`,
              )}
            </select></label
          >`
        : ''
    }
    ${
      q.products.length
        ? html`<label
            >Product for the tag breakdown
            <select name="product">
              ${q.products.map(
                (p) => html`<option value="${p}" ${p === q.product ? html`selected` : ''}>${p}</option>`,
              )}
            </select></label
          >`
        : ''
    }
    <label
      >Tag (key:value) <input type="text" name="tag" value="${q.tag ?? ''}" placeholder="env:prod" size="14"
    /></label>
    <label>Time zone <input type="text" name="tz" value="${q.zone}" size="16" /></label>
    <button type="submit">Show</button>
  </form>`;
}
