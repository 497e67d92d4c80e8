import { createHash } from 'node:crypto';
import * as echarts from 'echarts';
import { echartsSvg } from '../infra/chart-png';
import { html, trusted, type Html } from './html';

/**
 * A chart as an SVG made on the server by ECharts (no script reaches the browser). The output is deterministic
 * for the same option, which the golden files of the tests rely on.
 */
export interface ChartSize {
  width: number;
  height: number;
}

// One palette, colour-blind safe (Okabe–Ito), so a series keeps its colour across the pages.
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#F0E442',
  '#000000',
];

/**
 * ECharts takes 4–8 ms a chart here, and a Usage page has one per product (20: over the page's budget alone). The
 * SVG is a pure function of the option and size, so it is kept by a digest of both: a page viewed again — or
 * another user's view of the same month — reuses it, and a changed figure is a new key, never a stale chart.
 */
const MEMO_ENTRIES = 512;
const memo = new Map<string, Html>();

export function clearChartCache(): void {
  memo.clear();
}

export function chartSvg(
  option: echarts.EChartsCoreOption,
  size: ChartSize = { width: 640, height: 280 },
): Html {
  const key = createHash('sha256')
    .update(JSON.stringify([option, size]))
    .digest('base64url');
  const hit = memo.get(key);
  if (hit) {
    memo.delete(key); // most recently used last: the Map's order is the eviction order
    memo.set(key, hit);
    return hit;
  }
  const svg = renderSvg(option, size);
  memo.set(key, svg);
  if (memo.size > MEMO_ENTRIES) memo.delete(memo.keys().next().value as string);
  return svg;
}

function renderSvg(option: echarts.EChartsCoreOption, size: ChartSize): Html {
  const svg = echartsSvg(
    {
      animation: false,
      color: PALETTE,
      textStyle: { fontFamily: 'DejaVu Sans, sans-serif' },
      ...option,
      // On the server ECharts estimates text widths; DejaVu Sans runs wider, so legend entries need more room.
      ...(option.legend && !Array.isArray(option.legend)
        ? { legend: { itemGap: 28, ...(option.legend as object) } }
        : {}),
    },
    size,
  );
  return trusted(cspSafe(svg));
}

const PRESENTATION = new Set([
  'font-size',
  'font-family',
  'font-weight',
  'font-style',
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'opacity',
]);

/**
 * The console's CSP allows no inline style. ECharts writes a few `style="font-size:12px;…"` attributes, which
 * become SVG presentation attributes (CSP does not govern those), and a `<style>` of hover rules keyed by
 * per-instance class names (`zr3-cls-1`): hover needs script anyway, so both go — which also makes the SVG the
 * same whichever chart the process drew before it.
 */
export function cspSafe(svg: string): string {
  return svg
    .replace(/<style[^>]*>[\s\S]*?<\/style>\n?/g, '')
    .replace(/ class="zr\d+-cls-\d+"/g, '')
    .replace(/ style="([^"]*)"/g, (_m, body: string) =>
      body
        .split(';')
        .map((d) => d.split(':').map((x) => x.trim()))
        .filter(([k, v]) => k && v && PRESENTATION.has(k))
        .map(([k, v]) => ` ${k}="${v}"`)
        .join(''),
    );
}

/** A chart with its caption and, beside it, the table of its numbers (the chart alone says nothing to a screen reader). */
export function figure(q: { id: string; caption: string; chart: Html; table: Html }): Html {
  return html`<figure class="chart-figure" id="${q.id}">
    <figcaption>${q.caption}</figcaption>
    <div class="chart-and-table">
      <div class="chart" role="img" aria-label="${q.caption}">${q.chart}</div>
      <div class="chart-table">${q.table}</div>
    </div>
  </figure>`;
}
