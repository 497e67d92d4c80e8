import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import path from 'node:path';
import type { Knex } from 'knex';
import { createActivities, type ActivityDeps } from '../activities';
import type { Config } from '../infra/config';

/**
 * The composition root: the only place where config, connections, activities and workflows meet.
 * `workflowBundle` (pre-built code) skips bundling at start-up; tests build it once per run.
 */
export async function createWorker(opts: {
  config: Config;
  temporalAddress: string;
  db: Knex;
  workflowBundle?: { code: string };
  taskQueue?: string;
  /** The SMTP server to use instead of SMTP_URL (the demo's in-process mailbox). */
  smtpUrl?: string;
  send?: ActivityDeps['send'];
  overrides?: Partial<WorkerOptions>;
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const { config, db } = opts;
  const connection = await NativeConnection.connect({ address: opts.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: opts.taskQueue ?? config.taskQueue,
    activities: createActivities({
      db,
      dropDir: config.dropDir,
      outputDir: config.outputDir,
      retentionDays: config.retentionDays,
      fileModes: config.fileModes,
      smtpUrl: opts.smtpUrl ?? config.smtpUrl,
      mailFrom: config.mailFrom,
      send: opts.send,
    }),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve(path.join(__dirname, '..', 'workflows')) }),
    ...opts.overrides,
  });
  return { worker, connection };
}

/**
 * Runs the worker until it is stopped (SIGINT/SIGTERM) or Temporal has not answered for `unreachableMs`: then it
 * shuts down and this rejects with a message that says so. The SDK would otherwise retry a stale address forever
 * (a dev server restarted on other ports), polling nothing while backfills wait.
 */
export async function runWorker(
  worker: Worker,
  connection: NativeConnection,
  opts: { address: string; unreachableMs: number; log?: (line: string) => void },
): Promise<void> {
  let lastAnswer = Date.now();
  let checking = false;
  let failure: Error | undefined;
  const every = Math.max(200, Math.min(5_000, Math.floor(opts.unreachableMs / 4)));
  const timer = setInterval(() => {
    if (checking || failure) return;
    checking = true;
    connection
      .withDeadline(Date.now() + every, () => connection.workflowService.getSystemInfo({}))
      .then(() => {
        lastAnswer = Date.now();
      })
      .catch(() => {
        const silent = Date.now() - lastAnswer;
        if (silent < opts.unreachableMs) return;
        failure = new Error(
          `Temporal at ${opts.address} has not answered for ${Math.round(silent / 1000)} s: the worker stops ` +
            `(WORKER_UNREACHABLE_TIMEOUT); start it again once Temporal is back, or point TEMPORAL_ADDRESS at it`,
        );
        opts.log?.(failure.message);
        worker.shutdown();
      })
      .finally(() => {
        checking = false;
      });
  }, every);
  try {
    await worker.run();
  } finally {
    clearInterval(timer);
  }
  if (failure) throw failure;
}

/**
 * The workflow code bundled once, ahead of any worker (tests and the benchmark share it across workers);
 * bundler warnings and errors go to `log`, the rest is dropped.
 */
export async function buildWorkflowBundle(log: (line: string) => void): Promise<{ code: string }> {
  const quiet = () => undefined;
  return bundleWorkflowCode({
    workflowsPath: require.resolve(path.join(__dirname, '..', 'workflows')),
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: log, error: log } as never,
  });
}
