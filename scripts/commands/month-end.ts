import type { Command } from 'commander';
import { listDeliveries, type DeliveryStatus } from '../../db/deliveries';
import { byOrg, byTag, requireVersion, totals } from '../../db/month-end-report';
import { isMonth } from '../../domain/month-end';
import { workflowIds } from '../../domain/workflow-ids';
import type { MonthEndCloseResult } from '../../workflows/month-end-close';
import { asOfFrom, log, withClient, withDb } from '../context';
import { printCsv, printRows, table } from '../lib/output';
import { startOrAttach } from '../../client/start';

const ROWS = ['totals', 'by_org', 'by_tag'] as const;
type RowsName = (typeof ROWS)[number];

function checkMonth(month: string): void {
  if (!isMonth(month)) throw new Error(`--month "${month}" is not YYYY-MM`);
}

export function registerMonthEnd(run: Command, report: Command, program: Command): void {
  run
    .command('month-end')
    .description('close a month: attribute missing days, compute the version, write the files, mail finance')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--month <YYYY-MM>', 'the month, in the account time zone')
    .option(
      '--as-of <instant>',
      'the instant the close computes for (default now): decides provisional/final',
    )
    .option('--concurrency <n>', 'days attributed at once', '4')
    .option('--wait', 'wait for the result and print it')
    .action(
      async (o: { account: string; month: string; asOf?: string; concurrency: string; wait?: boolean }) => {
        checkMonth(o.month);
        const asOf = new Date(asOfFrom(o.asOf)).toISOString();
        await withClient(async (client, config) => {
          const handle = await startOrAttach(client, 'monthEndClose', {
            taskQueue: config.taskQueue,
            workflowId: workflowIds.monthEndClose(o.account, o.month),
            args: [{ accountId: o.account, month: o.month, asOf, concurrency: Number(o.concurrency) }],
            log,
          });
          if (!o.wait) return;
          const r = (await handle.result()) as MonthEndCloseResult;
          const c = r.close;
          console.log(
            `${o.account} ${o.month}: version ${c.version} (${c.status}, ${c.outcome}), data complete through ` +
              `${c.dataCompleteThrough}; ${r.attributedDays.length} day(s) attributed first`,
          );
          console.log(r.files.map((f) => `  ${f.name} (${f.bytes} bytes)`).join('\n'));
          for (const d of r.deliveries)
            console.log(`  mail to ${d.recipient}: ${d.status}${d.detail ? ` (${d.detail})` : ''}`);
        });
      },
    );

  report
    .command('month-end')
    .description("a closed month's figures: totals, by org, by tag (decimal strings)")
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--month <YYYY-MM>', 'the month')
    .option('--version <n>', 'a given version (default the latest)')
    .option('--format <format>', 'table | json | csv', 'table')
    .option('--rows <rows>', 'for table and csv: totals | by_org | by_tag', 'by_org')
    .action(async (o: { account: string; month: string; version?: string; format: string; rows: string }) => {
      checkMonth(o.month);
      if (!['table', 'json', 'csv'].includes(o.format))
        throw new Error('--format must be table, json or csv');
      if (!ROWS.includes(o.rows as RowsName)) throw new Error(`--rows must be one of ${ROWS.join(', ')}`);
      await withDb(async (db) => {
        const v = await requireVersion(db, o.account, o.month, o.version ? Number(o.version) : undefined);
        const head = {
          account: v.account_id,
          month: v.month,
          version: v.version,
          status: v.status,
          data_complete_through: v.data_complete_through,
        };
        if (o.format === 'json') {
          const out = {
            ...head,
            computed_at: v.computed_at,
            tag_keys: v.tag_keys,
            totals: await totals(db, v),
            by_org: await byOrg(db, v),
            by_tag: await byTag(db, v),
          };
          console.log(JSON.stringify(out, null, 2));
          return;
        }
        const rowsName = o.rows as RowsName;
        const rows: Record<string, unknown>[] =
          rowsName === 'totals'
            ? ((await totals(db, v)) as unknown as Record<string, unknown>[])
            : rowsName === 'by_org'
              ? ((await byOrg(db, v)) as unknown as Record<string, unknown>[])
              : (await byTag(db, v)).map(({ tags, ...r }) => ({
                  ...r,
                  ...Object.fromEntries(
                    v.tag_keys.map((k) => [
                      k,
                      tags[k] === null
                        ? ''
                        : (tags[k] ?? []).map((x) => (x === '' ? '<empty>' : x)).join('|'),
                    ]),
                  ),
                }));
        if (o.format === 'csv') {
          printCsv(rows);
          return;
        }
        log(
          `${v.account_name} ${v.month}, version ${v.version} (${v.status}; data complete through ${v.data_complete_through})`,
        );
        console.log(table(rows));
      });
    });

  program
    .command('deliveries')
    .description('the mail delivery ledger')
    .command('list')
    .description(
      'deliveries (month-end reports and alert notices), newest first: pending, sending (claimed, outcome not yet recorded), sent, failed (with the SMTP response)',
    )
    .option('--account <id>', 'one account')
    .option('--status <status>', 'pending | sending | sent | failed')
    .option('--limit <n>', 'at most n rows', '50')
    .option('--json', 'JSON lines')
    .action(async (o: { account?: string; status?: string; limit: string; json?: boolean }) => {
      if (o.status && !['pending', 'sending', 'sent', 'failed'].includes(o.status))
        throw new Error(`--status must be pending, sending, sent or failed, not "${o.status}"`);
      const rows = await withDb((db) =>
        listDeliveries(db, {
          accountId: o.account,
          status: o.status as DeliveryStatus | undefined,
          limit: Number(o.limit),
        }),
      );
      printRows(rows, o.json, (r) => ({
        id: r.id,
        kind: r.kind,
        account: r.account_id,
        what:
          r.kind === 'alert'
            ? `alert event ${String(r.reference.eventId)}`
            : Object.values(r.reference).join(' v'),
        recipient: r.recipient,
        status: r.status,
        attempts: r.attempts,
        // attempts whose worker stopped mid-send (the mail may have gone out; it was sent again, same Message-ID)
        unknown: r.unknown_outcomes || '',
        sent_at: r.sent_at ? new Date(r.sent_at).toISOString() : '',
        response: (r.smtp_response ?? r.last_error ?? '').slice(0, 60),
      }));
    });
}
