import { DefaultLogger, Runtime } from '@temporalio/worker';
import fs from 'node:fs';
import { loadConfig } from '../infra/config';
import { createDb } from '../infra/db';
import { createWorker, runWorker } from './worker';

/**
 * A worker process over a pre-built workflow bundle (ORGTALLY_WORKFLOW_BUNDLE): it starts in about a second, so
 * the fault suite and the tests can SIGKILL it (no cleanup runs, its connections just drop) and start another.
 * Configured like `orgtally worker`, with DATABASE_URL and TEMPORAL_ADDRESS required. Prints "ready" once polling.
 */
async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') }); // state changes at INFO would drown its callers' output
  const config = loadConfig();
  const bundle = process.env.ORGTALLY_WORKFLOW_BUNDLE;
  if (!config.databaseUrl || !config.temporalAddress || !bundle)
    throw new Error('DATABASE_URL, TEMPORAL_ADDRESS and ORGTALLY_WORKFLOW_BUNDLE must be set');
  const db = createDb(config.databaseUrl);
  const { worker, connection } = await createWorker({
    config,
    temporalAddress: config.temporalAddress,
    db,
    workflowBundle: { code: fs.readFileSync(bundle, 'utf8') },
  });
  const running = runWorker(worker, connection, {
    address: config.temporalAddress,
    unreachableMs: config.workerUnreachableMs,
  });
  process.stdout.write('ready\n');
  try {
    await running;
  } finally {
    await connection.close();
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(`bundled worker: ${(err as Error).message}`);
  process.exit(1);
});
