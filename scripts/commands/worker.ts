import type { Command } from 'commander';
import { loadConfig } from '../../infra/config';
import { createDb } from '../../infra/db';
import { resolveEndpoints } from '../../infra/stack';
import { createWorker, runWorker } from '../../worker/worker';
import { log } from '../context';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run workflows and activities on the task queue until interrupted')
    .action(async () => {
      const config = loadConfig();
      const ep = resolveEndpoints(config);
      const db = createDb(ep.databaseUrl);
      const { worker, connection } = await createWorker({ config, temporalAddress: ep.temporalAddress, db });
      log(
        `worker polling ${config.taskQueue} on ${ep.temporalAddress} (namespace ${config.temporalNamespace}); Ctrl-C stops`,
      );
      try {
        // the SDK shuts down gracefully on SIGINT/SIGTERM; an unreachable Temporal ends it with an error
        await runWorker(worker, connection, {
          address: ep.temporalAddress,
          unreachableMs: config.workerUnreachableMs,
        });
      } finally {
        await connection.close();
        await db.destroy();
      }
    });
}
