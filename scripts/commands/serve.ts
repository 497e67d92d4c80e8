import type { Command } from 'commander';
import type { AddressInfo } from 'node:net';
import { log, withDb } from '../context';
import { tcpPort } from '../lib/options';

/** Resolves on the first SIGINT or SIGTERM (which then no longer end the process by themselves). */
function untilStopped(): { stopped: Promise<NodeJS.Signals>; release: () => void } {
  let release = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      release();
      resolve(signal);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
    release = () => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
    };
  });
  return { stopped, release };
}

function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE')
    return new Error(
      `cannot listen on ${where}: the port is in use (another orgtally serve?); pick another with --port or ORGTALLY_HTTP_PORT`,
      { cause: err },
    );
  if (code === 'EACCES')
    return new Error(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`, {
      cause: err,
    });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new Error(`cannot listen on ${where}: ${host} is not an address of this machine (--host)`, {
      cause: err,
    });
  return err as Error;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'run the web console (/) and the HTTP API (/api; OpenAPI at /api/openapi.json) until interrupted',
    )
    .option('--host <host>', 'address to listen on (default: ORGTALLY_HTTP_HOST, else 127.0.0.1)')
    .option('--port <port>', 'TCP port, 0 for any free one (default: ORGTALLY_HTTP_PORT, else 8080)')
    .action(async (o: { host?: string; port?: string }) => {
      const wanted = o.port === undefined ? undefined : tcpPort(o.port, '--port');
      const signals = untilStopped();
      try {
        await withDb(async (db, config) => {
          const host = o.host ?? config.httpHost;
          const port = wanted ?? config.httpPort;
          // Loaded here, not at the top: the other commands never pay for the HTTP stack. require, not import():
          // bin/orgtally hooks tsx into require only, and Node's own import() cannot load .ts files.
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { buildServer } = require('../../api/server') as typeof import('../../api/server');
          const app = await buildServer({
            db,
            rateLimit: { limit: config.apiRateLimit, periodSeconds: 60 },
            logger: true,
            console: {
              publicUrl: config.publicUrl ?? `http://${host}:${port}`,
              inviteTtlMs: config.inviteTtlMs,
              shareSessionMs: config.shareSessionMs,
              mail: config.smtpUrl ? { url: config.smtpUrl, from: config.mailFrom } : undefined,
              session: { idleMs: config.sessionIdleMs, maxMs: config.sessionMaxMs },
            },
          });
          try {
            try {
              await app.listen({ host, port });
            } catch (err) {
              throw listenError(err, host, port);
            }
            // The host as asked for; the port as bound (--port 0 picks one).
            const bound = (app.server.address() as AddressInfo).port;
            const base = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
            log(`orgtally API listening on ${base} (OpenAPI: ${base}/api/openapi.json)`);
            log(`orgtally console on ${base}/ (sign in, or: orgtally users login-link)`);
            const signal = await signals.stopped;
            log(`orgtally API: ${signal}, closing`);
          } finally {
            await app.close();
          }
        });
      } finally {
        signals.release();
      }
    });
}
