import type { EstimateRun, EstimateTotalRow } from '../../db/estimate-reads';
import { add, dec, sum, text, type Dec } from '../../domain/exact';
import type { TotalRow } from '../../domain/month-end-report';
import type { MonthFigures } from '../../queries/summary';
import { chartSvg, figure } from '../chart';
import { cost, money, monthName, totalNote, when, type Pricing } from '../format';
import { html, type Html } from '../html';
import { wrap } from '../widgets';

/**
 * The bill of a month: committed and on-demand cost so far (the month-to-date figures, which carry the whole
 * month's commitment) and, for the month to date, as projected by the latest stored estimate of that month
 * (commitments + projected on-demand cost, as GET /api/v2/usage/projected_cost builds it).
 */
export interface Projection {
  run: EstimateRun;
  totals: EstimateTotalRow[];
  /** Per product, the month's committed cost (db/estimate-reads.ts committedCosts). */
  committed: Map<string, string>;
}

export interface BillLine {
  label: string;
  committed: string;
  onDemand: string;
  total: string;
}

const line = (label: string, committed: Dec, onDemand: Dec): BillLine => ({
  label,
  committed: text(committed),
  onDemand: text(onDemand),
  total: text(add(committed, onDemand)),
});

function soFar(totals: readonly TotalRow[], label: string): BillLine {
  return line(
    label,
    sum(totals.map((t) => dec(t.committed_cost))),
    sum(totals.map((t) => dec(t.on_demand_cost))),
  );
}

/** Commitments plus the projected on-demand cost of every product. */
export function projectedBill(p: Projection): BillLine {
  return line(
    'Projected',
    sum(p.totals.map((t) => dec(p.committed.get(t.usage_type) ?? '0'))),
    sum(p.totals.map((t) => dec(t.projected_on_demand_cost))),
  );
}

export function billBlock(month: string, f: MonthFigures, p: Projection | undefined, pricing: Pricing): Html {
  const toDate = f.status === 'month_to_date';
  const label = toDate ? 'So far' : f.status === 'not_closed' ? 'Not closed yet' : 'Billed';
  const lines = [soFar(f.totals, label), ...(p ? [projectedBill(p)] : [])];
  const chart = chartSvg(
    {
      // Room for the legend above the axis name (they overlapped at 36).
      grid: { left: 80, right: 16, top: 52, bottom: 32 },
      legend: { top: 0 },
      xAxis: { type: 'category', data: lines.map((l) => l.label) },
      yAxis: { type: 'value', name: pricing.currency },
      // Positions only: the exact figures are in the table beside the chart.
      series: [
        {
          name: 'Committed',
          type: 'bar',
          stack: 'bill',
          barMaxWidth: 64,
          data: lines.map((l) => Number(l.committed)),
        },
        {
          name: 'On-demand',
          type: 'bar',
          stack: 'bill',
          barMaxWidth: 64,
          data: lines.map((l) => Number(l.onDemand)),
        },
      ],
    },
    { width: 360, height: 260 },
  );
  const table = html`<table id="bill">
    <thead>
      <tr>
        <td></td>
        ${lines.map((l) => html`<th scope="col" class="num">${l.label}</th>`)}
      </tr>
    </thead>
    <tbody>
      <tr>
        <th scope="row">Committed</th>
        ${lines.map((l) => html`<td class="num">${money(l.committed, pricing.currency)}</td>`)}
      </tr>
      <tr>
        <th scope="row">On-demand</th>
        ${lines.map((l) => html`<td class="num">${money(l.onDemand, pricing.currency)}</td>`)}
      </tr>
      <tr>
        <th scope="row">Total${totalNote(pricing)}</th>
        ${lines.map((l) => html`<td class="num"><strong>${money(l.total, pricing.currency)}</strong></td>`)}
      </tr>
    </tbody>
  </table>`;
  return html`${figure({
    id: 'bill-chart',
    caption: toDate
      ? `The bill of ${monthName(month)}: so far and projected, committed and on-demand`
      : `The bill of ${monthName(month)}: committed and on-demand`,
    chart,
    table,
  })}
  ${projectionNote(f, p)} ${productTable(f, p, pricing)}`;
}

function projectionNote(f: MonthFigures, p: Projection | undefined): Html {
  if (f.status !== 'month_to_date')
    return html`<p class="hint">
      ${f.source}. A month that has ended has no projection: its bill is the figure above.
    </p>`;
  if (!p)
    return html`<p class="hint">
      No estimate of this month is stored yet, so there is no projection. Estimates are made every hour by the
      worker; an operator can run <code>orgtally run estimates</code>.
    </p>`;
  return html`<p class="hint">
    So far: ${f.source}. Projected: the estimate made at ${when(p.run.as_of)} after ${p.run.hours_elapsed} of
    ${p.run.month_hours} hours, the month's commitments plus the on-demand cost its projected usage leaves
    over.
  </p>`;
}

function productTable(f: MonthFigures, p: Projection | undefined, pricing: Pricing): Html {
  const unpriced = new Set(pricing.unpriced);
  const est = new Map((p?.totals ?? []).map((t) => [t.usage_type, t]));
  return wrap(
    html`<table id="bill-products">
      <caption>
        Per product
      </caption>
      <thead>
        <tr>
          <th scope="col">Product</th>
          <th scope="col" class="num">Committed</th>
          <th scope="col" class="num">On-demand so far</th>
          <th scope="col" class="num">Cost so far</th>
          ${
            p
              ? html`<th scope="col" class="num">Projected on-demand</th>
                  <th scope="col" class="num">Projected cost</th>`
              : ''
          }
        </tr>
      </thead>
      <tbody>
        ${f.totals.map((t) => {
          const e = est.get(t.usage_type);
          const committed = p?.committed.get(t.usage_type) ?? '0';
          const priced = !unpriced.has(t.usage_type);
          const shown = (v: string | undefined) => cost(v, pricing.currency, priced);
          return html`<tr>
            <th scope="row">${t.usage_type}</th>
            <td class="num">${shown(t.committed_cost)}</td>
            <td class="num">${shown(t.on_demand_cost)}</td>
            <td class="num">${shown(t.total_cost)}</td>
            ${
              p
                ? html`<td class="num">${shown(e?.projected_on_demand_cost)}</td>
                    <td class="num">
                      ${e ? shown(text(add(dec(committed), dec(e.projected_on_demand_cost)))) : '—'}
                    </td>`
                : ''
            }
          </tr>`;
        })}
      </tbody>
    </table>`,
  );
}
