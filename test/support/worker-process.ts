import fs from 'node:fs';
import { parseConfig } from '../../infra/config';
import { createDb } from '../../infra/db';
import { createWorker, runWorker } from '../../worker/worker';

/**
 * A worker in a process of its own, for tests that kill it (SIGKILL: no cleanup, connections just drop).
 * Env: DATABASE_URL, ORGTALLY_TEST_TEMPORAL_ADDRESS, ORGTALLY_TEST_BUNDLE, TEMPORAL_TASK_QUEUE, SMTP_URL, MAIL_FROM.
 * Prints "ready" once polling.
 */
async function main(): Promise<void> {
  const env = process.env as Record<string, string>;
  const pick = [
    'TEMPORAL_TASK_QUEUE',
    'SMTP_URL',
    'MAIL_FROM',
    'OUTPUT_DIR',
    'WORKER_UNREACHABLE_TIMEOUT',
  ].filter((k) => env[k]);
  const config = parseConfig(Object.fromEntries(pick.map((k) => [k, env[k]])));
  const db = createDb(env.DATABASE_URL ?? '');
  const address = env.ORGTALLY_TEST_TEMPORAL_ADDRESS ?? '';
  const { worker, connection } = await createWorker({
    config,
    temporalAddress: address,
    db,
    workflowBundle: { code: fs.readFileSync(env.ORGTALLY_TEST_BUNDLE ?? '', 'utf8') },
  });
  const running = runWorker(worker, connection, { address, unreachableMs: config.workerUnreachableMs });
  process.stdout.write('ready\n');
  await running;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
