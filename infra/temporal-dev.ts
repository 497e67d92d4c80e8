import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { freePort, isAlive, portFree, sleep, terminate } from './process';
import type { Log } from './tools';

export interface DevPorts {
  frontend: number;
  http: number;
  metrics: number;
  ui?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  pid: number;
  ports: DevPorts;
}

/**
 * Starts `temporal server start-dev` on free ports and waits until `operator cluster health` says SERVING.
 * `detached` lets it outlive this process (dev up); otherwise it shares our process group and dies with Ctrl-C.
 */
type StartOptions = {
  cli: string;
  dbFile?: string;
  ui: boolean;
  logFile: string;
  detached: boolean;
  log: Log;
  timeoutMs?: number;
  /**
   * The ports of an earlier start, taken again when free: running workers and clients keep the address they were
   * given, and reconnect by themselves to a server back on it.
   */
  ports?: DevPorts;
  /** Namespaces to create besides `default`. */
  namespaces?: string[];
};

export async function startTemporalDevServer(opts: StartOptions): Promise<DevServer> {
  // The server also binds ports next to its frontend port; a free port picked for the UI or metrics can
  // collide with them (seen: "bind: address already in use"). Such a start is retried on fresh ports.
  let reuse = opts.ports && (await allFree(opts.ports)) ? opts.ports : undefined;
  if (opts.ports && !reuse) {
    opts.log(
      `Temporal dev server: its earlier ports are taken; starting on new ones (restart running workers: ` +
        `they keep the old address)`,
    );
  }
  for (let attempt = 1; ; attempt++) {
    const logStart = fs.existsSync(opts.logFile) ? fs.statSync(opts.logFile).size : 0;
    try {
      return await startOnce(opts, reuse);
    } catch (err) {
      const tail = fs.existsSync(opts.logFile) ? fs.readFileSync(opts.logFile, 'utf8').slice(logStart) : '';
      if (attempt >= 3 || !/address already in use/.test(tail)) throw err;
      opts.log(`Temporal dev server: a port was taken during start-up; retrying on other ports`);
      reuse = undefined;
    }
  }
}

async function allFree(ports: DevPorts): Promise<boolean> {
  const wanted = [ports.frontend, ports.http, ports.metrics, ...(ports.ui ? [ports.ui] : [])];
  for (const p of wanted) if (!(await portFree(p))) return false;
  return true;
}

async function startOnce(opts: StartOptions, reuse: DevPorts | undefined): Promise<DevServer> {
  const ports: DevPorts = reuse
    ? { ...reuse }
    : { frontend: await freePort(), http: await freePort(), metrics: await freePort() };
  const port = ports.frontend;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  args.push('--http-port', String(ports.http), '--metrics-port', String(ports.metrics));
  let uiUrl: string | undefined;
  if (opts.ui) {
    ports.ui ??= await freePort();
    args.push('--ui-port', String(ports.ui));
    uiUrl = `http://127.0.0.1:${ports.ui}`;
  } else {
    delete ports.ui;
    args.push('--headless');
  }
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  for (const ns of opts.namespaces ?? []) args.push('--namespace', ns);
  const out = fs.openSync(opts.logFile, 'a');
  const child = spawn(opts.cli, args, { detached: opts.detached, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  if (opts.detached) child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`Could not start ${opts.cli}`);
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (!isAlive(pid) || child.exitCode !== null) {
      throw new Error(`The Temporal dev server exited during start-up; see ${opts.logFile}`);
    }
    const h = spawnSync(opts.cli, ['operator', 'cluster', 'health', '--address', address], {
      encoding: 'utf8',
    });
    if (h.status === 0 && /SERVING/.test(h.stdout)) {
      opts.log(`Temporal dev server ready at ${address}${uiUrl ? ` (Web UI ${uiUrl})` : ''}`);
      return { address, uiUrl, pid, ports };
    }
    await sleep(200);
  }
  await terminate(pid);
  throw new Error(
    `The Temporal dev server did not become healthy within ${opts.timeoutMs ?? 30_000} ms; see ${opts.logFile}`,
  );
}
