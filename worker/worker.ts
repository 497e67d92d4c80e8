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
