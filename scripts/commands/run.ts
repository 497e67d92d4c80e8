import type { Command } from 'commander';
import { workflowIds } from '../../domain/workflow-ids';
import { asOfFrom, log, withClient } from '../context';
import { registerAttribution } from './attribution';
import { registerEstimates } from './estimates';
import { registerMonthEnd } from './month-end';
import { registerSummary } from './summary';
import { registerTrends } from './trends';
import { startOrAttach } from '../../client/start';

export function registerRun(program: Command): void {
  const run = program.command('run').description('start a workflow (a running worker executes it)');
  const report = program.command('report').description('read results');
  registerAttribution(run, report);
  registerMonthEnd(run, report, program);
  registerTrends(run, report);
  registerSummary(report);
  registerEstimates(run, report);
  run
    .command('ingest-drop')
    .description('ingest every file in the drop folder (DROP_DIR)')
    .option('--as-of <instant>', 'the instant the run computes for (default now, to the minute)')
    .option('--wait', 'wait for the result and print it')
    .action(async (opts: { asOf?: string; wait?: boolean }) => {
      const asOf = new Date(Math.floor(asOfFrom(opts.asOf) / 60_000) * 60_000).toISOString();
      await withClient(async (client, config) => {
        const handle = await startOrAttach(client, 'ingestDropFolder', {
          taskQueue: config.taskQueue,
          workflowId: workflowIds.ingestDropFolder(asOf),
          args: [{ asOf }],
          log,
        });
        if (opts.wait) console.log(JSON.stringify(await handle.result(), null, 2));
      });
    });
}
