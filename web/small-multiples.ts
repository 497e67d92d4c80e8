import { chartSvg, PALETTE } from './chart';
import type { Html } from './html';

/**
 * Bars of several series as small multiples — one panel per series, each on its own scale, three a row — in one
 * chart: one ECharts instance draws 20 panels in about half the time of 20 charts, and a page opened for the
 * first time draws it whole. Positions only: the page puts every exact figure in a table beside it.
 */
const COLS = 3;

export function smallMultiples(q: {
  panels: readonly { title: string; values: readonly (string | null | undefined)[] }[];
  categories: readonly string[];
  height: number;
  barMaxWidth: number;
  /** Show every n-th category label (default: as many as fit). */
  labelInterval?: number;
}): Html {
  const p = { width: 300, height: q.height, gap: 24, title: 30 };
  const cell = (i: number) => ({
    left: (i % COLS) * (p.width + p.gap) + 48,
    top: Math.floor(i / COLS) * (p.height + p.title + p.gap) + p.title,
  });
  return chartSvg(
    {
      title: q.panels.map((s, i) => ({
        text: s.title,
        left: cell(i).left - 40,
        top: cell(i).top - p.title,
        textStyle: { fontSize: 12, fontWeight: 'bold' },
      })),
      grid: q.panels.map((_s, i) => ({ ...cell(i), width: p.width - 56, height: p.height - 28 })),
      xAxis: q.panels.map((_s, i) => ({
        type: 'category',
        data: q.categories,
        gridIndex: i,
        axisLabel:
          q.labelInterval === undefined ? { fontSize: 10 } : { fontSize: 10, interval: q.labelInterval },
      })),
      yAxis: q.panels.map((_s, i) => ({
        type: 'value',
        gridIndex: i,
        splitNumber: 3,
        axisLabel: { fontSize: 10 },
      })),
      series: q.panels.map((s, i) => ({
        type: 'bar',
        xAxisIndex: i,
        yAxisIndex: i,
        barMaxWidth: q.barMaxWidth,
        itemStyle: { color: PALETTE[i % PALETTE.length] },
        data: s.values.map((v) => (v === null || v === undefined ? null : Number(v))),
      })),
    },
    {
      width: COLS * (p.width + p.gap),
      height: Math.ceil(q.panels.length / COLS) * (p.height + p.title + p.gap),
    },
  );
}
