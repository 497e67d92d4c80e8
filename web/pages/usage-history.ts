import { latestTrendMonth } from '../../db/console-reads';
import { storedTrends, type StoredTrend } from '../../db/trends';
import { add, dec, text, ZERO } from '../../domain/exact';
import { chartSvg, figure, PALETTE } from '../chart';
import { monthName, qty } from '../format';
import { html, type Html } from '../html';
import type { PageCtx } from '../page';
import { wrap, type TreeOrg } from '../widgets';

/** Six months per product, from the stored trends of the month (or of the last close before it). */
export async function historyOf(
  ctx: Pick<PageCtx, 'db' | 'scope'>,
  month: string,
  view: 'billable' | 'all',
  root: string,
  orgs: readonly TreeOrg[],
): Promise<Html> {
  const { db, scope } = ctx;
  const at = await latestTrendMonth(db, scope.accountId, month);
  const stored =
    at &&
    (await storedTrends(db, {
      accountId: scope.accountId,
      month: at,
      view,
      // Only the rows drawn: the account's, or the subtree's orgs' (not 20 000 rows of every org).
      ...(root === scope.accountId ? { accountOnly: true } : { orgs: orgs.map((o) => o.public_id) }),
    }));
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
  ${series.length ? sixMonths(series, stored.months, view) : ''}`;
}

const COLS = 3;
const PANEL = { width: 300, height: 150, gap: 24, title: 30 };

/**
 * Six months of every product with usage as small multiples — one panel per product, each on its own scale — in
 * one chart: one ECharts instance draws 20 panels in about half the time of 20 charts, and a page opened for the
 * first time draws it whole. The table beside it has every figure.
 */
function sixMonths(
  series: readonly { usage_type: string; values: (string | null)[] }[],
  months: readonly string[],
  view: string,
): Html {
  const rows = Math.ceil(series.length / COLS);
  const cell = (i: number) => ({
    left: (i % COLS) * (PANEL.width + PANEL.gap) + 48,
    top: Math.floor(i / COLS) * (PANEL.height + PANEL.title + PANEL.gap) + PANEL.title,
  });
  const short = months.map((m) => m.slice(2).replace('-', '/'));
  const chart = chartSvg(
    {
      title: series.map((s, i) => ({
        text: s.usage_type,
        left: cell(i).left - 40,
        top: cell(i).top - PANEL.title,
        textStyle: { fontSize: 12, fontWeight: 'bold' },
      })),
      grid: series.map((_s, i) => ({ ...cell(i), width: PANEL.width - 56, height: PANEL.height - 28 })),
      xAxis: series.map((_s, i) => ({
        type: 'category',
        data: short,
        gridIndex: i,
        axisLabel: { fontSize: 10 },
      })),
      yAxis: series.map((_s, i) => ({
        type: 'value',
        gridIndex: i,
        splitNumber: 3,
        axisLabel: { fontSize: 10 },
      })),
      // Positions only: the exact figures are in the table beside the chart.
      series: series.map((s, i) => ({
        type: 'bar',
        xAxisIndex: i,
        yAxisIndex: i,
        barMaxWidth: 24,
        itemStyle: { color: PALETTE[i % PALETTE.length] },
        data: s.values.map((v) => (v === null ? null : Number(v))),
      })),
    },
    { width: COLS * (PANEL.width + PANEL.gap), height: rows * (PANEL.height + PANEL.title + PANEL.gap) },
  );
  return figure({
    id: 'history',
    caption: `Six months of ${view} usage per product, ${monthName(months[0] as string)} to ${monthName(months.at(-1) as string)}`,
    chart,
    table: wrap(
      html`<table id="history-table">
        <thead>
          <tr>
            <th scope="col">Product</th>
            ${months.map((m) => html`<th scope="col" class="num">${m}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${series.map(
            (s) =>
              html`<tr>
                <th scope="row">${s.usage_type}</th>
                ${s.values.map((v) => html`<td class="num">${qty(v)}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>`,
    ),
  });
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
