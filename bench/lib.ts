import fs from 'node:fs';
import os from 'node:os';
import type { Knex } from 'knex';

/**
 * One line of the report. `unit` says what figure and floor measure: wall time in ms (most lines), peak resident
 * memory in MiB (rss), or throughput in requests (queries) per second (api: there ratio = figure / floor is the
 * API's share of the direct query's throughput, higher is better). A line without a floor has floor 0 and ratio NaN.
 */
export interface BenchLine {
  path: string;
  rows: number;
  unit: 'ms' | 'MiB' | 'req/s';
  /** Median of `runs`. */
  figure: number;
  /** Median of `floor_runs`. */
  floor: number;
  ratio: number;
  /** rows per second of the figure's runs (rss: of the larger export). */
  rows_per_s: number;
  runs: number[];
  floor_runs: number[];
  /** Line-specific measurements (backfill: where the time goes; rss: sizes, baselines, export times). */
  details?: Record<string, unknown>;
}

/** The p-th percentile (nearest rank) of a sample. */
export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};

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
    unit: 'ms',
    figure,
    floor,
    ratio: figure / floor,
    rows_per_s: Math.round(rows / (figure / 1000)),
    runs,
    floor_runs: floors,
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

/** /proc/<pid>/stat fields after the command: [state, ppid, …]; undefined when unreadable (not Linux, gone). */
export function procStat(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
const TICK_S = 0.01; // USER_HZ

/** CPU seconds (user + system) a process has used so far; with `children`, those of its reaped children too. */
export function cpuSeconds(pid: number, children = false): number | undefined {
  const f = procStat(pid);
  if (!f) return undefined;
  const own = Number(f[11]) + Number(f[12]);
  return (children ? own + Number(f[13]) + Number(f[14]) : own) * TICK_S;
}

/**
 * CPU seconds of the whole Postgres server, when it runs on this machine: the postmaster with its reaped children
 * (closed sessions, finished parallel workers) plus every live child process.
 */
export function postgresCpu(postmaster: number | undefined): number | undefined {
  if (!postmaster) return undefined;
  let total = cpuSeconds(postmaster, true);
  if (total === undefined) return undefined;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = procStat(Number(d));
    if (f && Number(f[1]) === postmaster) total += (Number(f[11]) + Number(f[12])) * TICK_S;
  }
  return total;
}

/** The postmaster's pid, through a session's backend pid (undefined when the server is not on this machine). */
export async function postmasterPid(db: Knex): Promise<number | undefined> {
  const { rows } = await db.raw('SELECT pg_backend_pid() AS pid');
  const f = procStat(Number(rows[0].pid));
  return f ? Number(f[1]) : undefined;
}
