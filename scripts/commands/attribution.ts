import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { pendingDays } from '../../db/attribution';
import { attributionDay } from '../../queries/attribution';
import { oneOf } from '../lib/options';
import { dailyHeader, isDay } from '../../domain/attribution';
import { loadConfig } from '../../infra/config';
import { createDb } from '../../infra/db';
import { resolveEndpoints } from '../../infra/stack';
import { workflowIds } from '../../domain/workflow-ids';
import { connectClient } from '../../infra/temporal';
import type { DailyAttributionResult } from '../../workflows/daily-attribution';
import { log, withScope } from '../context';
import { table, tsvLine } from '../lib/output';
import { startOrAttach } from '../../client/start';

/** Starts (or attaches to) dailyAttribution for each day; with `wait`, at most `concurrency` at once. */
export async function runAttribution(
  client: Client,
  taskQueue: string,
  accountId: string,
  days: string[],
  opts: {
    wait: boolean;
    restateTags?: boolean;
    concurrency?: number;
    onDone?: (day: string, r: DailyAttributionResult) => void;
  },
): Promise<void> {
  const queue = [...days];
  const one = async (day: string) => {
    const handle = await startOrAttach(client, 'dailyAttribution', {
      taskQueue,
      workflowId: workflowIds.dailyAttribution(accountId, day),
      args: [{ accountId, day, restateTags: opts.restateTags }],
      // with --wait each day prints its result instead of 'started'
      log: (l) => (opts.wait && l.startsWith('started') ? undefined : log(l)),
    });
    if (opts.wait) opts.onDone?.(day, (await handle.result()) as DailyAttributionResult);
  };
  const lanes = Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, async () => {
    for (let day = queue.shift(); day !== undefined; day = queue.shift()) await one(day);
  });
  await Promise.all(lanes);
}

export function registerAttribution(run: Command, report: Command): void {
  run
    .command('attribution')
    .description('attribute a day (or every pending day) to tag keys, write the daily TSVs, reconcile')
    .requiredOption('--account <id>', 'account id')
    .option('--day <YYYY-MM-DD>', 'the day, in the account time zone')
    .option('--pending', 'every day marked by late or replaced data since its last attribution')
    .option('--restate-tags', 'use the current tag keys instead of those in effect on each day')
    .option('--concurrency <n>', 'days at once with --wait', '4')
    .option('--wait', 'wait for the results and print them')
    .action(
      async (o: {
        account: string;
        day?: string;
        pending?: boolean;
        restateTags?: boolean;
        concurrency: string;
        wait?: boolean;
      }) => {
        if (Boolean(o.day) === Boolean(o.pending)) throw new Error('give exactly one of --day or --pending');
        if (o.day && !isDay(o.day)) throw new Error(`--day "${o.day}" is not a YYYY-MM-DD date`);
        const config = loadConfig();
        const ep = resolveEndpoints(config);
        let days = o.day ? [o.day] : [];
        if (o.pending) {
          const db = createDb(ep.databaseUrl);
          try {
            days = await pendingDays(db, o.account);
          } finally {
            await db.destroy();
          }
          log(`${days.length} pending day(s)${days.length ? `: ${days[0]} … ${days[days.length - 1]}` : ''}`);
        }
        const client = await connectClient(ep.temporalAddress, config.temporalNamespace);
        try {
          await runAttribution(client, config.taskQueue, o.account, days, {
            wait: Boolean(o.wait),
            restateTags: o.restateTags,
            concurrency: Number(o.concurrency),
            onDone: (day, r) =>
              console.log(
                `${day}: ${r.attribution.facts} facts → ${r.attribution.hourlyRows} hourly rows over ${r.attribution.hours} h, ` +
                  `${r.files.length} files reconciled (keys: ${r.attribution.tagKeys.join(', ') || 'none'})`,
              ),
          });
        } finally {
          await client.connection.close();
        }
      },
    );

  report
    .command('attribution')
    .description("a day's attributed hourly usage")
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--day <YYYY-MM-DD>', 'the day')
    .option('--product <code>', 'one product (usage type)')
    .option('--format <format>', 'table | json | tsv', 'table')
    .action(async (o: { account: string; day: string; product?: string; format: string }) => {
      const format = oneOf(o.format, ['table', 'json', 'tsv'], '--format');
      const res = await withScope(o.account, (db, scope) =>
        attributionDay(db, scope, { day: o.day, product: o.product }),
      );
      if (format === 'json') {
        for (const { cells, ...r } of res.rows) console.log(JSON.stringify(r));
      } else if (format === 'tsv') {
        console.log(`usage_type\t${dailyHeader(res.tagKeys)}`);
        for (const r of res.rows) {
          console.log(
            tsvLine([
              r.usage_type,
              r.public_id,
              r.org_name,
              r.hour,
              ...r.cells.map((c) => c ?? ''),
              r.total_usage,
            ]),
          );
        }
      } else {
        console.log(
          table(
            res.rows.map((r) => ({
              usage_type: r.usage_type,
              org: r.public_id,
              name: r.org_name,
              hour: r.hour,
              ...Object.fromEntries(res.tagKeys.map((k, i) => [k, r.cells[i] ?? ''])),
              total_usage: r.total_usage,
            })),
          ),
        );
      }
    });
}
