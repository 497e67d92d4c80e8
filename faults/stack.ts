import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { ensureDatabase, migrateLatest } from '../db/migrate';
import { PROJECT_ROOT, type Config } from '../infra/config';
import { createDb } from '../infra/db';
import { startEmbeddedPostgres, stopEmbeddedPostgres } from '../infra/embedded-postgres';
import { freePort, isAlive, sleep, terminate } from '../infra/process';
import { startTemporalDevServer, type DevPorts } from '../infra/temporal-dev';
import { ensureTemporalCli } from '../infra/tools';
import { buildWorkflowBundle } from '../worker/worker';

/**
 * What the fault suite runs on: a Postgres server (DATABASE_URL's, else an embedded one), a Temporal dev server
 * of its own on a db file (so it can be killed and brought back with its history), one namespace per run, and
 * the workflow bundle built once for the worker processes it kills.
 */
export interface FaultStack {
  /** A URL of the Postgres server; `databaseUrl(name)` names a database on it. */
  databaseUrl: (name: string) => string;
  temporalAddress: string;
  bundlePath: string;
  /** Kills the dev server (SIGKILL) and starts it again on the same ports and db file. */
  restartTemporal: () => Promise<void>;
  close: () => Promise<void>;
}

export const NAMESPACES = ['faults-clean', 'faults-faulty'];

export async function startFaultStack(opts: {
  workDir: string;
  config: Config;
  log: (line: string) => void;
  /** A Postgres server to use (default: DATABASE_URL's, else an embedded one). */
  databaseUrl?: string;
  /** A workflow bundle built already (default: built here). */
  bundlePath?: string;
}): Promise<FaultStack> {
  const { workDir, config, log } = opts;
  fs.mkdirSync(workDir, { recursive: true });
  let server = opts.databaseUrl ?? config.databaseUrl;
  let pgDir: string | undefined;
  if (!server) {
    pgDir = path.join(workDir, 'pg');
    server = startEmbeddedPostgres({ baseDir: pgDir, port: await freePort(), log }).url;
  }
  const cli = await ensureTemporalCli({ explicit: config.temporalCli, toolsDir: config.toolsDir, log });
  const dbFile = path.join(workDir, 'temporal.db');
  fs.rmSync(dbFile, { force: true });
  const start = (ports?: DevPorts) =>
    startTemporalDevServer({
      cli,
      ui: false,
      dbFile,
      logFile: path.join(workDir, 'temporal.log'),
      detached: false,
      log,
      namespaces: NAMESPACES,
      ...(ports ? { ports } : {}),
    });
  let temporal = await start();
  let bundlePath = opts.bundlePath;
  if (!bundlePath) {
    bundlePath = path.join(workDir, 'workflow-bundle.js');
    fs.writeFileSync(bundlePath, (await buildWorkflowBundle(log)).code);
  }
  const base = server;
  return {
    databaseUrl: (name) => {
      const u = new URL(base);
      u.pathname = `/${name}`;
      return u.toString();
    },
    temporalAddress: temporal.address,
    bundlePath,
    restartTemporal: async () => {
      process.kill(temporal.pid, 'SIGKILL');
      while (isAlive(temporal.pid)) await sleep(50);
      const again = await start(temporal.ports);
      if (again.address !== temporal.address)
        throw new Error(`the dev server came back on ${again.address}, not ${temporal.address}`);
      temporal = again;
    },
    close: async () => {
      await terminate(temporal.pid);
      if (pgDir) stopEmbeddedPostgres(pgDir, log);
    },
  };
}

/** A fresh, migrated database for one run (an earlier one of the same name is dropped first). */
export async function freshDatabase(url: string): Promise<Knex> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  u.pathname = '/postgres';
  const admin = createDb(u.toString(), { max: 1 });
  try {
    await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
  } finally {
    await admin.destroy();
  }
  await ensureDatabase(url);
  const db = createDb(url);
  await migrateLatest(db);
  return db;
}

/** One worker process over the bundle; `kill` is a SIGKILL (nothing runs after it), `start` waits until it polls. */
export class WorkerProcess {
  private child: ChildProcess | undefined;

  /** `logFile` takes the worker's stderr (its warnings: every retried activity, with its stack). */
  constructor(
    private readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {}

  async start(): Promise<void> {
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn(
      process.execPath,
      ['-r', 'tsx/cjs', path.join(PROJECT_ROOT, 'worker', 'bundled-worker.ts')],
      {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...this.env },
        stdio: ['ignore', 'pipe', log],
      },
    );
    fs.closeSync(log);
    this.child = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it was ready`)));
    });
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const hard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(hard);
  }
}
