import { shortMonth } from './human-time';
import type { MonthCost } from './month-end-mail';

/**
 * The mail's six-month cost chart as an ECharts option (plain data; infra/chart-png.ts draws it): committed and
 * on-demand stacked per month. Numbers here only place bars; the mail's table beside the chart has the exact
 * amounts.
 */
export function costHistoryOption(history: readonly MonthCost[], currency: string): Record<string, unknown> {
  const val = (v: string | null) => (v === null ? null : Number(v));
  return {
    grid: { left: 70, right: 20, top: 34, bottom: 58 },
    legend: { bottom: 0, left: 'center', itemGap: 36, textStyle: { fontSize: 13 } },
    xAxis: { type: 'category', data: history.map((h) => shortMonth(h.month)), axisLabel: { fontSize: 12 } },
    yAxis: { type: 'value', name: currency, nameTextStyle: { fontSize: 12 }, axisLabel: { fontSize: 12 } },
    series: [
      { name: 'Committed', type: 'bar', stack: 'cost', data: history.map((h) => val(h.committed)) },
      { name: 'On-demand', type: 'bar', stack: 'cost', data: history.map((h) => val(h.on_demand)) },
    ],
  };
}
