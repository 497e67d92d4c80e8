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
