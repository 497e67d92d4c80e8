import os from 'node:os';
import type { Knex } from 'knex';

export interface BenchLine {
  path: string;
  rows: number;
  figure_ms: number;
  floor_ms: number;
  ratio: number;
  rows_per_s: number;
  runs_ms: number[];
  floor_runs_ms: number[];
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** A result line from every run's figure and floor: medians, their ratio, throughput of the figure. */
export function benchLine(path: string, rows: number, runs: number[], floors: number[]): BenchLine {
  const figure = median(runs);
  const floor = median(floors);
  return {
    path,
    rows,
    figure_ms: figure,
    floor_ms: floor,
    ratio: figure / floor,
    rows_per_s: Math.round(rows / (figure / 1000)),
    runs_ms: runs,
    floor_runs_ms: floors,
  };
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export async function machine(db: Knex): Promise<Record<string, string | number>> {
  const { rows } = await db.raw('SHOW server_version');
  return {
    cores: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    postgres: rows[0].server_version,
  };
}
