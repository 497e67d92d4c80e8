import type { SeriesPoint } from '../../db/console-estimates';
import { cmp, dec } from '../../domain/exact';
import { chartSvg, figure, PALETTE } from '../chart';
import { qty, when } from '../format';
import { html, type Html } from '../html';
import { wrap } from '../widgets';
import type { Threshold } from './estimates-thresholds';

/**
 * One product's estimate over the month: month-to-date, projected and included quantity at each stored run,
 * against the hours of the month, with the product's alert thresholds as horizontal lines. The table beside
 * it lists one row per day (the day's last run), and the thresholds with the latest value they measure.
 */
const DAY_HOURS = 24;
const THRESHOLD_COLOUR = PALETTE[5] as string;

/** A round axis end a little above `x` (> 0), so the highest line is not drawn on the frame. */
function roundUp(x: number): number {
  const k = 10 ** Math.floor(Math.log10(x));
  return (Math.ceil(((x * 1.05) / k) * 2) / 2) * k;
}

/** The last point of each UTC day, oldest first (the points come oldest first). */
export function lastOfEachDay(points: readonly SeriesPoint[]): SeriesPoint[] {
  const byDay = new Map<string, SeriesPoint>();
  for (const p of points) byDay.set(p.as_of.slice(0, 10), p);
  return [...byDay.values()];
}

export function productFigure(q: {
  product: string;
  unit: string;
  points: readonly SeriesPoint[];
  showIncluded: boolean;
  thresholds: readonly Threshold[];
  subject: string;
}): Html {
  const { product, unit, points, showIncluded, thresholds } = q;
  const monthHours = points[0]?.month_hours ?? 30 * DAY_HOURS;
  const xy = (f: (p: SeriesPoint) => string | null) =>
    points.map((p) => {
      const v = f(p);
      return [p.hours_elapsed, v === null ? null : Number(v)];
    });
  const drawn = thresholds.filter((t) => t.limit !== null);
  // The axis must reach the highest line, or a threshold above the data would fall off the chart.
  const top = Math.max(0, ...drawn.map((t) => Number(t.limit)));
  const dataTop = Math.max(0, ...points.flatMap((p) => [p.mtd, p.projected, p.included ?? '0'].map(Number)));
  const chart = chartSvg(
    {
      grid: { left: 72, right: 40, top: 52, bottom: 40 },
      legend: { top: 0 },
      xAxis: {
        type: 'value',
        min: 0,
        max: monthHours,
        interval: 5 * DAY_HOURS,
        name: 'day',
        nameLocation: 'end',
        axisLabel: { formatter: (h: number) => String(Math.floor(h / DAY_HOURS) + 1) },
      },
      yAxis: { type: 'value', name: unit, ...(top > dataTop ? { max: roundUp(top) } : {}) },
      // Positions only: the exact figures are in the table beside the chart.
      series: [
        { name: 'Month to date', type: 'line', data: xy((p) => p.mtd), showSymbol: points.length < 3 },
        { name: 'Projected', type: 'line', data: xy((p) => p.projected), showSymbol: points.length < 3 },
        ...(showIncluded
          ? [
              {
                name: 'Included',
                type: 'line',
                step: 'end',
                lineStyle: { type: 'dashed' },
                data: xy((p) => p.included),
                showSymbol: points.length < 3,
              },
            ]
          : []),
        ...(drawn.length
          ? [
              {
                name: 'Alert threshold',
                type: 'line',
                data: [],
                color: THRESHOLD_COLOUR,
                markLine: {
                  symbol: 'none',
                  silent: true,
                  lineStyle: { color: THRESHOLD_COLOUR, type: 'dotted', width: 2 },
                  // Inside the plot, above its line: a rule id at the end of the line ran off the chart.
                  label: { formatter: '{b}', position: 'insideEndTop' },
                  data: drawn.map((t) => ({ name: t.id, yAxis: Number(t.limit) })),
                },
              },
            ]
          : []),
      ],
    },
    { width: 560, height: 280 },
  );
  return figure({
    id: `estimate-${product}`,
    caption: `${product} (${unit}): ${q.subject}, month to date and projected${showIncluded ? ', against the included quantity' : ''}`,
    chart,
    table: html`${dayTable(product, points, showIncluded)}
    ${thresholdTable(product, unit, points, thresholds)}`,
  });
}

function dayTable(product: string, points: readonly SeriesPoint[], showIncluded: boolean): Html {
  return wrap(
    html`<table id="estimate-${product}-days">
      <caption>
        One row per day: the day's last estimate
      </caption>
      <thead>
        <tr>
          <th scope="col">Estimate of</th>
          <th scope="col" class="num">Hours elapsed</th>
          <th scope="col" class="num">Month to date</th>
          <th scope="col" class="num">Projected</th>
          ${showIncluded ? html`<th scope="col" class="num">Included</th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${lastOfEachDay(points).map(
          (p) =>
            html`<tr>
              <th scope="row">${when(p.as_of)}</th>
              <td class="num">${p.hours_elapsed} of ${p.month_hours}</td>
              <td class="num">${qty(p.mtd)}</td>
              <td class="num">${qty(p.projected)}</td>
              ${showIncluded ? html`<td class="num">${qty(p.included)}</td>` : ''}
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

function thresholdTable(
  product: string,
  unit: string,
  points: readonly SeriesPoint[],
  thresholds: readonly Threshold[],
): Html {
  if (!thresholds.length) return html``;
  const last = points.at(-1);
  return wrap(
    html`<table id="estimate-${product}-thresholds">
      <caption>
        Alert thresholds (dotted lines), against the latest estimate
      </caption>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">Fires when</th>
          <th scope="col" class="num">Limit</th>
          <th scope="col" class="num">Latest</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        ${thresholds.map((t) => {
          // A rule with a tag filter measures part of the usage: the chart's figure is not what it compares.
          const value =
            last && !t.tags.length ? (t.measure === 'mtd' ? last.mtd : last.projected) : undefined;
          const c = value !== undefined && t.limit !== null ? cmp(dec(value), dec(t.limit)) : undefined;
          const over = c === undefined ? undefined : t.inclusive ? c >= 0 : c > 0;
          return html`<tr>
            <th scope="row">${t.id}</th>
            <td>
              ${t.measure === 'mtd' ? 'month to date' : 'projected'}
              ${t.rule}${
                t.tags.length
                  ? html` <span class="muted">(usage tagged ${t.tags.join(', ')} only)</span>`
                  : ''
              }
            </td>
            <td class="num">${t.limit === null ? 'not shown' : `${qty(t.limit)} ${unit}`}</td>
            <td class="num">${qty(value)}</td>
            <td>${over === undefined ? '—' : over ? 'over the limit' : 'below the limit'}</td>
          </tr>`;
        })}
      </tbody>
    </table>`,
  );
}
