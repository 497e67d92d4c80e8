import { pluralUnit, qty, quantityText, shortDay } from './alert-mail-words';

/**
 * The chart of an alert mail as an ECharts option (drawn to a PNG by infra/chart-png.ts): for a threshold the
 * month to date by day, the projection to the month's end and the limit; for a spike or drop the 15 days the
 * rule judged, with the median of the 14 days before the last one. Number() only draws: every figure the mail
 * states comes from the exact decimals.
 */

export const CHART_SIZE = { width: 560, height: 220 };

export interface MailChart {
  option: Record<string, unknown>;
  /** The chart in one sentence, for readers without images. */
  alt: string;
}

/** One point of a month's series: the month-to-date and projected figures at the end of `day` (or `through`). */
export interface MonthPoint {
  day: string;
  /** Set for the last point when it falls inside its day: the hour (HH:MM, the account's zone) it is at. */
  through?: string;
  mtd: string;
  projected: string;
}

const BLUE = '#0072B2';
const ORANGE = '#E69F00';
const VERMILLION = '#D55E00';
const GREEN = '#009E73';
const LIGHT_BLUE = '#56B4E9';

const num = (v: string | null): number | null => (v === null ? null : Number(v));

const base = (unit: string) => ({
  // The legend under the axis and the unit above it: neither overlaps the plot at 560 × 220.
  grid: { left: 56, right: 16, top: 28, bottom: 52 },
  legend: {
    bottom: 2,
    left: 4,
    itemWidth: 18,
    itemHeight: 8,
    itemGap: 12,
    textStyle: { fontSize: 12, color: '#333' },
  },
  yAxis: {
    type: 'value',
    name: pluralUnit(unit),
    nameTextStyle: { fontSize: 11, color: '#555', align: 'left' },
    nameGap: 10,
    axisLabel: { fontSize: 11, color: '#555' },
    splitLine: { lineStyle: { color: '#e5e5e5' } },
  },
});

export function thresholdChart(x: {
  monthDays: string[];
  points: MonthPoint[];
  measure: 'mtd' | 'projected';
  limit: string | null;
  included: string | null;
  unit: string;
  monthLabel: string;
}): MailChart | null {
  const last = x.points[x.points.length - 1];
  if (!last) return null;
  const index = new Map(x.monthDays.map((d, i) => [d, i]));
  const mtd: (number | null)[] = x.monthDays.map(() => null);
  for (const p of x.points) {
    const i = index.get(p.day);
    if (i !== undefined) mtd[i] = num(p.mtd);
  }
  const lastIndex = index.get(last.day) ?? 0;
  const end = x.monthDays.length - 1;
  const projection = x.monthDays.map((_, i) =>
    i === lastIndex ? num(last.mtd) : i === end ? num(last.projected) : null,
  );
  const flat = (v: string) => x.monthDays.map(() => Number(v));
  const series: Record<string, unknown>[] = [
    {
      name: 'Month to date',
      type: 'line',
      data: mtd,
      symbol: 'circle',
      symbolSize: 4,
      lineStyle: { width: 2, color: BLUE },
      itemStyle: { color: BLUE },
    },
    {
      name: `Projected: ${quantityText(last.projected)}`,
      type: 'line',
      data: projection,
      connectNulls: true,
      symbol: 'circle',
      symbolSize: 4,
      lineStyle: { width: 2, type: 'dashed', color: BLUE },
      itemStyle: { color: BLUE },
    },
  ];
  if (x.limit !== null)
    series.push({
      name: `Limit: ${quantityText(x.limit)}`,
      type: 'line',
      data: flat(x.limit),
      symbol: 'none',
      lineStyle: { width: 2, color: VERMILLION },
      itemStyle: { color: VERMILLION },
    });
  if (x.included !== null && x.included !== x.limit && Number(x.included) > 0)
    series.push({
      name: `Included: ${quantityText(x.included)}`,
      type: 'line',
      data: flat(x.included),
      symbol: 'none',
      lineStyle: { width: 1.5, type: 'dotted', color: GREEN },
      itemStyle: { color: GREEN },
    });
  const what = x.measure === 'projected' ? 'projected' : 'month-to-date';
  return {
    option: {
      ...base(x.unit),
      xAxis: {
        type: 'category',
        data: x.monthDays.map((d) => shortDay(d, { year: false }).slice(4)),
        axisLabel: { fontSize: 11, color: '#555', interval: 4 },
        axisTick: { alignWithLabel: true },
      },
      series,
    },
    alt:
      `Chart of ${x.monthLabel}: month-to-date usage by day, ${qty(last.mtd, x.unit)} on ` +
      `${shortDay(last.day, { year: false })}${last.through ? ` at ${last.through}` : ''}, projected ` +
      `${qty(last.projected, x.unit)} at the month's end` +
      (x.limit === null ? '' : `; the ${what} limit is ${qty(x.limit, x.unit)}`) +
      '.',
  };
}

export function changeChart(x: {
  days: { day: string; value: string | null }[];
  baseline: string | null;
  baselineDays: number;
  unit: string;
  kind: 'spike' | 'drop';
}): MailChart | null {
  const last = x.days[x.days.length - 1];
  if (!last) return null;
  const lastIndex = x.days.length - 1;
  const series: Record<string, unknown>[] = [
    {
      name: 'Daily usage',
      type: 'bar',
      barMaxWidth: 22,
      itemStyle: { color: LIGHT_BLUE },
      data: x.days.map((d, i) =>
        i === lastIndex
          ? {
              value: num(d.value),
              itemStyle: { color: x.kind === 'spike' ? ORANGE : BLUE },
              label: { show: true, position: 'top', fontSize: 11, color: '#222' },
            }
          : num(d.value),
      ),
    },
  ];
  if (x.baseline !== null)
    series.push({
      name: `Median of the ${x.baselineDays} days before: ${quantityText(x.baseline)}`,
      type: 'line',
      data: x.days.map(() => Number(x.baseline)),
      symbol: 'none',
      lineStyle: { width: 2, type: 'dashed', color: VERMILLION },
      itemStyle: { color: VERMILLION },
    });
  const first = x.days[0] as { day: string };
  return {
    option: {
      ...base(x.unit),
      xAxis: {
        type: 'category',
        data: x.days.map((d) => shortDay(d.day, { year: false }).slice(4)),
        axisLabel: { fontSize: 11, color: '#555', interval: 1 },
        axisTick: { alignWithLabel: true },
      },
      series,
    },
    alt:
      `Chart of the daily usage from ${shortDay(first.day)} to ${shortDay(last.day)}: ` +
      `${last.value === null ? 'no data' : qty(last.value, x.unit)} on the last day` +
      (x.baseline === null ? '' : ` against a median of ${qty(x.baseline, x.unit)} before it`) +
      '.',
  };
}
