import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { loadConfig } from '../../infra/config';
import { resolveEndpoints } from '../../infra/stack';
import { connectClient, workflowIds } from '../../infra/temporal';
import { asOfFrom, log } from '../context';
import { registerAttribution } from './attribution';
import { registerMonthEnd } from './month-end';
import { registerSummary } from './summary';
import { registerTrends } from './trends';

export function registerRun(program: Command): void {
  const run = program.command('run').description('start a workflow (a running worker executes it)');
  const report = program.command('report').description('read results');
  registerAttribution(run, report);
  registerMonthEnd(run, report, program);
  registerTrends(run, report);
  registerSummary(report);
  run
    .command('ingest-drop')
    .description('ingest every file in the drop folder (DROP_DIR)')
    .option('--as-of <instant>', 'the instant the run computes for (default now, to the minute)')
    .option('--wait', 'wait for the result and print it')
    .action(async (opts: { asOf?: string; wait?: boolean }) => {
      const config = loadConfig();
      const ep = resolveEndpoints(config);
      const asOf = new Date(Math.floor(asOfFrom(opts.asOf) / 60_000) * 60_000).toISOString();
      const client = await connectClient(ep.temporalAddress, config.temporalNamespace);
      const workflowId = workflowIds.ingestDropFolder(asOf);
      try {
        const handle = await client.workflow
          .start('ingestDropFolder', { taskQueue: config.taskQueue, workflowId, args: [{ asOf }] })
          .catch(async (err: unknown) => {
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
            log(`${workflowId} is already running: attaching`);
            return client.workflow.getHandle(workflowId);
          });
        log(`started ${workflowId}`);
        if (opts.wait) console.log(JSON.stringify(await handle.result(), null, 2));
      } finally {
        await client.connection.close();
      }
    });
}
