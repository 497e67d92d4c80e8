import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/config';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { parseConfig, type Config } from '../../infra/config';
import { createWorker } from '../../worker/worker';

// Workers log state changes at INFO; tests only want warnings. Installed once per jest worker process.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed by another test file in this process
}

/** The run's Temporal dev server (started by globalSetup) and its pre-built workflow bundle. */
export function testTemporal(): { address: string; bundle: { code: string } } {
  const address = process.env.ORGTALLY_TEST_TEMPORAL_ADDRESS;
  const bundlePath = process.env.ORGTALLY_TEST_BUNDLE;
  if (!address || !bundlePath)
    throw new Error('run workflow tests through jest (globalSetup starts Temporal)');
  return { address, bundle: { code: fs.readFileSync(bundlePath, 'utf8') } };
}

export async function testClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await NativeConnection.connect({ address: testTemporal().address });
  const client = new Client({ connection });
  return { client, close: () => connection.close() };
}

/** A worker on its own task queue (so test files never steal each other's tasks) over the test's database. */
export async function testWorker(
  db: Knex,
  env: Record<string, string> = {},
): Promise<{ worker: Worker; config: Config; taskQueue: string; close: () => Promise<void> }> {
  const { address, bundle } = testTemporal();
  const taskQueue = env.TEMPORAL_TASK_QUEUE ?? `test-${randomBytes(4).toString('hex')}`;
  const config = parseConfig({ ...env, TEMPORAL_TASK_QUEUE: taskQueue });
  const { worker, connection } = await createWorker({
    config,
    temporalAddress: address,
    db,
    workflowBundle: bundle,
  });
  return { worker, config, taskQueue, close: () => connection.close() };
}

/**
 * A worker in a process of its own (worker/bundled-worker.ts), for tests that SIGKILL it: no cleanup runs, its
 * connections just drop. `env` adds to (and overrides) the worker's configuration.
 */
export function spawnWorkerProcess(env: {
  databaseUrl: string;
  taskQueue: string;
  smtpUrl?: string;
  mailFrom?: string;
  temporalAddress?: string;
  extra?: Record<string, string>;
  /** The worker's stderr: inherited (default), or piped for a test that reads it. */
  stderr?: 'inherit' | 'pipe';
}): ChildProcess {
  return spawn(process.execPath, ['-r', 'tsx/cjs', path.join(PROJECT_ROOT, 'worker', 'bundled-worker.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: env.databaseUrl,
      TEMPORAL_ADDRESS: env.temporalAddress ?? testTemporal().address,
      ORGTALLY_WORKFLOW_BUNDLE: process.env.ORGTALLY_TEST_BUNDLE,
      TEMPORAL_TASK_QUEUE: env.taskQueue,
      ...(env.smtpUrl ? { SMTP_URL: env.smtpUrl } : {}),
      ...(env.mailFrom ? { MAIL_FROM: env.mailFrom } : {}),
      ...env.extra,
    },
    stdio: ['ignore', 'pipe', env.stderr ?? 'inherit'],
  });
}

/**
 * With ORGTALLY_RECORD_HISTORY set, writes a finished workflow's history to test/replay/histories/<file>, which
 * the replay test then runs against the current workflow code.
 */
export async function recordHistory(client: Client, workflowId: string, file: string): Promise<void> {
  if (!process.env.ORGTALLY_RECORD_HISTORY) return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  fs.writeFileSync(path.join(PROJECT_ROOT, 'test', 'replay', 'histories', file), historyToJSON(history));
}
