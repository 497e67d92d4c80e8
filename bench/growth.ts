import type { Knex } from 'knex';
import { benchAttribution, loadAttributionData } from './attribution';
import { benchRollup, loadEstimatesData } from './estimates';
import type { BenchLine } from './lib';
import { benchMonthEnd, loadMonthEndData } from './month-end';

/** Orgs at 1× for each path; the line runs each at 1×, 4× and 16× as many (the rows grow with the orgs). */
export interface GrowthScale {
  attributionOrgs: number;
  monthEndOrgs: number;
  rollupOrgs: number;
  factors: readonly number[];
  runs: number;
}

export interface GrowthPoint {
  path: string;
  factor: number;
  rows: number;
  ms: number;
  floorMs: number;
  /** Time per row relative to the 1× point: 1.00 is linear growth. */
  perRowRatio: number;
}

/**
 * Growth: attribution (a day's facts → its files), the month-end close and the rollup of one new hour, each at
 * 1×, 4× and 16× the orgs, through the paths' own bench lines (same data shapes, same same-result checks, floors
 * included). Linear growth keeps the time per row flat: perRowRatio = (ms / rows) / (ms / rows at 1×).
 */
export async function benchGrowth(
  db: Knex,
  scale: GrowthScale,
  opts: { workDir: string; log: (s: string) => void },
): Promise<{ lines: BenchLine[]; points: GrowthPoint[] }> {
  const quiet = () => undefined;
  const points: GrowthPoint[] = [];
  const lines: BenchLine[] = [];
  const add = (path: string, factor: number, line: BenchLine, rows: number) => {
    const first = points.find((p) => p.path === path);
    const perRow = line.figure / rows;
    const p = {
      path,
      factor,
      rows,
      ms: line.figure,
      floorMs: line.floor,
      perRowRatio: first ? perRow / (first.ms / first.rows) : 1,
    };
    points.push(p);
    opts.log(
      `  growth ${path} ${factor}×: ${rows.toLocaleString('en-US')} rows, ${(line.figure / 1000).toFixed(2)} s (floor ${(line.floor / 1000).toFixed(2)} s, ${line.ratio.toFixed(2)}×), per row ${p.perRowRatio.toFixed(2)}× of 1×`,
    );
    lines.push({ ...line, path: `growth ${factor}×: ${line.path}` });
  };
  for (const f of scale.factors) {
    const data = await loadAttributionData(
      db,
      { orgs: scale.attributionOrgs * f, products: 20, tagSets: 10 },
      opts.log,
    );
    add(
      'attribution',
      f,
      await benchAttribution(db, data, { runs: scale.runs, workDir: opts.workDir, log: quiet }),
      data.facts,
    );
  }
  for (const f of scale.factors) {
    const month = await loadMonthEndData(
      db,
      { orgs: scale.monthEndOrgs * f, tagKeys: 3, cells: 4 },
      opts.log,
    );
    add('month-end', f, await benchMonthEnd(db, month, { runs: scale.runs, log: quiet }), month.hourlyRows);
  }
  for (const f of scale.factors) {
    const e = await loadEstimatesData(db, { orgs: scale.rollupOrgs * f, products: 20 }, opts.log);
    add('rollup', f, await benchRollup(db, e, { runs: scale.runs, log: quiet }), e.newFacts);
  }
  return { lines, points };
}
