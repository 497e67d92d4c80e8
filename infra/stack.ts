import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config';
import { startEmbeddedPostgres, stopEmbeddedPostgres } from './embedded-postgres';
import { freePort, isAlive, terminate } from './process';
import { startTemporalDevServer, type DevPorts } from './temporal-dev';
import { ensureTemporalCli, type Log } from './tools';

/** What `orgtally dev up` started and where, so that every other command finds the same servers. */
export interface StackState {
  postgres?: { url: string; port: number; baseDir: string };
  temporal?: { address: string; uiUrl?: string; pid: number; cli: string; ports?: DevPorts };
  startedAt: string;
}

export interface Endpoints {
  databaseUrl: string;
  temporalAddress: string;
}

const stateFile = (config: Config) => path.join(config.homeDir, 'stack.json');

export function readStack(config: Config): StackState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(config), 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

function pgRunning(state: StackState | undefined): boolean {
  const dir = state?.postgres?.baseDir;
  if (!dir) return false;
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return isAlive(pid);
  } catch {
    return false;
  }
}

export function stackStatus(config: Config): { state?: StackState; postgres: boolean; temporal: boolean } {
  const state = readStack(config);
  return { state, postgres: pgRunning(state), temporal: isAlive(state?.temporal?.pid) };
}

/**
 * Starts what the environment does not provide: an embedded Postgres unless DATABASE_URL is set, a Temporal dev
 * server (with Web UI and a db file, so runs survive a restart) unless TEMPORAL_ADDRESS is set. Reuses a running
 * stack. `detached` keeps the servers after this process exits (dev up); the demo starts them attached.
 */
export async function stackUp(config: Config, log: Log, opts: { detached: boolean }): Promise<StackState> {
  fs.mkdirSync(config.homeDir, { recursive: true });
  const current = stackStatus(config);
  const state: StackState = { startedAt: current.state?.startedAt ?? new Date().toISOString() };
  let startedPostgres: string | undefined;
  if (!config.databaseUrl) {
    if (current.postgres && current.state?.postgres) {
      state.postgres = current.state.postgres;
      log(`embedded Postgres already running on port ${state.postgres.port}`);
    } else {
      const baseDir = path.join(config.homeDir, 'pg');
      const port = await freePort();
      state.postgres = startEmbeddedPostgres({ baseDir, port, log });
      startedPostgres = state.postgres.baseDir;
    }
  }
  if (!config.temporalAddress) {
    if (current.temporal && current.state?.temporal) {
      state.temporal = current.state.temporal;
      log(`Temporal dev server already running at ${state.temporal.address}`);
    } else {
      try {
        const cli = await ensureTemporalCli({ explicit: config.temporalCli, toolsDir: config.toolsDir, log });
        const srv = await startTemporalDevServer({
          cli,
          ui: true,
          dbFile: path.join(config.homeDir, 'temporal.db'),
          logFile: path.join(config.homeDir, 'temporal.log'),
          detached: opts.detached,
          log,
          // After a crash or a stop, the same address: workers and clients started earlier find it again.
          ...(current.state?.temporal?.ports ? { ports: current.state.temporal.ports } : {}),
        });
        state.temporal = { ...srv, uiUrl: srv.uiUrl, cli };
      } catch (err) {
        // Leave nothing half-started behind: the Postgres this call started is stopped again.
        if (startedPostgres) stopEmbeddedPostgres(startedPostgres, log);
        throw err;
      }
    }
  }
  fs.writeFileSync(stateFile(config), JSON.stringify(state, null, 2));
  return state;
}

export async function stackDown(config: Config, log: Log): Promise<void> {
  // The API a `demo --keep` left in the background reads this stack: it goes first.
  const apiPid = path.join(config.homeDir, 'api.pid');
  if (fs.existsSync(apiPid)) {
    const pid = Number(fs.readFileSync(apiPid, 'utf8'));
    if (isAlive(pid)) {
      await terminate(pid);
      log('orgtally API stopped');
    }
    fs.rmSync(apiPid, { force: true });
  }
  const state = readStack(config);
  if (state?.temporal && isAlive(state.temporal.pid)) {
    await terminate(state.temporal.pid);
    log('Temporal dev server stopped');
  }
  if (state?.postgres) stopEmbeddedPostgres(state.postgres.baseDir, log);
  // The file stays, without a process: the next `dev up` starts Temporal on the same ports.
  if (state?.temporal) {
    fs.writeFileSync(
      stateFile(config),
      JSON.stringify({ ...state, temporal: { ...state.temporal, pid: 0 } }, null, 2),
    );
  }
}

/** DATABASE_URL / TEMPORAL_ADDRESS from the environment, else from the running local stack. */
export function resolveEndpoints(config: Config): Endpoints {
  const status = stackStatus(config);
  const databaseUrl = config.databaseUrl ?? (status.postgres ? status.state?.postgres?.url : undefined);
  const temporalAddress =
    config.temporalAddress ?? (status.temporal ? status.state?.temporal?.address : undefined);
  const missing = [
    databaseUrl ? undefined : 'DATABASE_URL',
    temporalAddress ? undefined : 'TEMPORAL_ADDRESS',
  ].filter(Boolean);
  if (databaseUrl && temporalAddress) return { databaseUrl, temporalAddress };
  throw new Error(
    `${missing.join(' and ')} not set and no local stack is running: run \`orgtally dev up\` first, ` +
      `or set ${missing.join(' / ')}.`,
  );
}

/** Database only (for commands that need no Temporal: migrate, account apply, ingest, reports). */
export function resolveDatabaseUrl(config: Config): string {
  if (config.databaseUrl) return config.databaseUrl;
  const status = stackStatus(config);
  if (status.postgres && status.state?.postgres) return status.state.postgres.url;
  throw new Error(
    'DATABASE_URL is not set and no local stack is running: run `orgtally dev up` first, or set DATABASE_URL.',
  );
}
