import type { OrgMonthCost } from '../../db/console-cost';
import { add, cmp, dec, text, ZERO, type Dec } from '../../domain/exact';
import { chartSvg, figure, PALETTE } from '../chart';
import { money, monthName, totalNote, type Pricing } from '../format';
import { html, type Html } from '../html';
import { wrap } from '../widgets';

/**
 * Six months of cost per org: a stack per month, one series per org. Only the orgs that cost most over the six
 * months get a series of their own (more colours than the palette's eight cannot be told apart); the rest are
 * summed as "other orgs". The table beside the chart lists every org.
 */
export const CHART_ORGS = 8;

interface OrgHistory {
  public_id: string;
  org_name: string;
  byMonth: Map<string, Dec>;
  total: Dec;
}

function byOrg(rows: readonly OrgMonthCost[]): OrgHistory[] {
  const orgs = new Map<string, OrgHistory>();
  for (const r of rows) {
    const o = orgs.get(r.public_id) ?? {
      public_id: r.public_id,
      org_name: r.org_name,
      byMonth: new Map<string, Dec>(),
      total: ZERO,
    };
    o.byMonth.set(r.month, add(o.byMonth.get(r.month) ?? ZERO, dec(r.total_cost)));
    o.total = add(o.total, dec(r.total_cost));
    // The newest name wins: rows come oldest month first.
    o.org_name = r.org_name;
    orgs.set(r.public_id, o);
  }
  return [...orgs.values()].sort((a, b) => cmp(b.total, a.total) || (a.public_id < b.public_id ? -1 : 1));
}

/** `months`: oldest first; `rows`: the org costs of those of them that have figures (`present`). */
export function historyBlock(
  months: readonly string[],
  present: ReadonlySet<string>,
  rows: readonly OrgMonthCost[],
  pricing: Pricing,
): Html {
  const orgs = byOrg(rows);
  if (!orgs.length) return html`<p>No cost is recorded for these six months.</p>`;
  const shown = orgs.slice(0, CHART_ORGS);
  const rest = orgs.slice(CHART_ORGS);
  const value = (m: string, cost: (m: string) => Dec) => (present.has(m) ? Number(text(cost(m))) : null);
  const series = [
    ...shown.map((o) => ({
      name: o.org_name,
      data: months.map((m) => value(m, (k) => o.byMonth.get(k) ?? ZERO)),
    })),
    ...(rest.length
      ? [
          {
            name: `other orgs (${rest.length})`,
            data: months.map((m) =>
              value(m, (k) => rest.reduce((a, o) => add(a, o.byMonth.get(k) ?? ZERO), ZERO)),
            ),
          },
        ]
      : []),
  ];
  const chart = chartSvg(
    {
      grid: { left: 80, right: 16, top: 64, bottom: 32 },
      legend: { top: 0, type: 'plain' },
      xAxis: { type: 'category', data: [...months] },
      yAxis: { type: 'value', name: pricing.currency },
      // Positions only: the exact figures are in the table beside the chart.
      series: series.map((s) => ({ ...s, type: 'bar', stack: 'cost', barMaxWidth: 48 })),
      color: [...PALETTE],
    },
    { width: 560, height: 320 },
  );
  const accountOf = (m: string) => orgs.reduce((a, o) => add(a, o.byMonth.get(m) ?? ZERO), ZERO);
  const cell = (m: string, v: Dec | undefined) =>
    present.has(m)
      ? html`<td class="num">${money(text(v ?? ZERO), pricing.currency)}</td>`
      : html`<td class="num muted">—</td>`;
  const table = wrap(
    html`<table id="cost-history">
      <thead>
        <tr>
          <th scope="col">Organization</th>
          ${months.map((m) => html`<th scope="col" class="num">${m}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${orgs.map(
          (o) =>
            html`<tr>
              <th scope="row">${o.org_name} <span class="muted">${o.public_id}</span></th>
              ${months.map((m) => cell(m, o.byMonth.get(m)))}
            </tr>`,
        )}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">Account${totalNote(pricing)}</th>
          ${months.map((m) => cell(m, accountOf(m)))}
        </tr>
      </tfoot>
    </table>`,
  );
  return html`${figure({
    id: 'cost-history-chart',
    caption: `Cost per organization, ${monthName(months[0] as string)} to ${monthName(months.at(-1) as string)}${rest.length ? `: the ${CHART_ORGS} that cost most, the rest as "other orgs"` : ''}`,
    chart,
    table,
  })}
  ${
    months.some((m) => !present.has(m))
      ? html`<p class="hint">
          —: the month has no figures (it was never closed, or lies before the first usage).
        </p>`
      : ''
  }`;
}
