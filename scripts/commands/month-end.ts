import type { Command } from 'commander';
import { isMonth } from '../../domain/month-end';
import { allDeliveries, deliveries } from '../../queries/deliveries';
import { monthEndReport } from '../../queries/month-end';
import { workflowIds } from '../../domain/workflow-ids';
import type { MonthEndCloseResult } from '../../workflows/month-end-close';
import { asOfFrom, cliActor, log, withClient, withDb, withScope } from '../context';
import { audit } from '../../db/audit';
import { oneOf, positiveInt } from '../lib/options';
import { costCell, costColumn, totalCostLine } from '../lib/money';
import { isWide, printCsv, printRows, table } from '../lib/output';
import { startOrAttach } from '../../client/start';

const ROWS = ['totals', 'by_org', 'by_tag'] as const;

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
            // A close started by hand (a first close or a re-close after late data) is an operator's act.
            onStarted: () =>
              withDb(async (db) => {
                const versions = await db('month_end_versions')
                  .where({ account_id: o.account, month: `${o.month}-01` })
                  .count({ n: '*' });
                await audit(db, {
                  accountId: o.account,
                  actor: cliActor(),
                  action: Number(versions[0]?.n ?? 0) > 0 ? 'month_end.reclose' : 'month_end.close',
                  target: `month:${o.month}`,
                  after: { workflow_id: workflowIds.monthEndClose(o.account, o.month), as_of: asOf },
                });
              }),
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
      const format = oneOf(o.format, ['table', 'json', 'csv'], '--format');
      const rowsName = oneOf(o.rows, ROWS, '--rows');
      const version = o.version === undefined ? undefined : positiveInt(o.version, '--version');
      await withScope(o.account, async (db, scope) => {
        const r = await monthEndReport(db, scope, {
          month: o.month,
          version,
          asOf: new Date().toISOString(),
          parts: format === 'json' ? undefined : [rowsName],
        });
        const v = r.version;
        if (format === 'json') {
          const out = {
            account: v.account_id,
            month: v.month,
            version: v.version,
            status: v.status,
            currency: r.currency,
            data_complete_through: v.data_complete_through,
            as_of: v.as_of,
            computed_at: v.computed_at,
            tag_keys: v.tag_keys,
            totals: r.totals,
            by_org: r.by_org,
            by_tag: r.by_tag,
          };
          console.log(JSON.stringify(out, null, 2));
          return;
        }
        // CSV and --wide: every column under its JSON name, amounts exact, with the currency beside them.
        const picked: Record<string, unknown>[] =
          rowsName === 'totals'
            ? ((r.totals ?? []) as unknown as Record<string, unknown>[])
            : rowsName === 'by_org'
              ? (r.by_org as unknown as Record<string, unknown>[])
              : r.by_tag.map(({ tags, ...t }) => ({
                  ...t,
                  ...Object.fromEntries(
                    v.tag_keys.map((k) => [
                      k,
                      tags[k] === null
                        ? ''
                        : (tags[k] ?? []).map((x) => (x === '' ? '<empty>' : x)).join('|'),
                    ]),
                  ),
                }));
        const rows = picked.map((row) => ({ ...row, currency: r.currency }));
        if (format === 'csv') {
          printCsv(rows);
          return;
        }
        const cost = costColumn('cost', r.currency);
        const costOf = (row: Record<string, unknown>) =>
          costCell(String(row.total_cost), row.priced === true);
        log(
          `${v.account_name} ${v.month}, version ${v.version} (${v.status}; data complete through ${v.data_complete_through})`,
        );
        // The terminal view: the columns a reader looks at first (every column, under its JSON name: --wide).
        const compact = (r: Record<string, unknown>): Record<string, unknown> =>
          rowsName === 'totals'
            ? {
                product: r.usage_type,
                unit: r.unit,
                billable: r.billable_usage,
                committed: r.committed_usage,
                included: r.included_usage,
                'on-demand': r.on_demand_usage,
                [cost]: costOf(r),
              }
            : {
                org: r.public_id,
                name: r.org_name,
                product: r.usage_type,
                ...(rowsName === 'by_tag' ? Object.fromEntries(v.tag_keys.map((k) => [k, r[k]])) : {}),
                total: r.total_usage,
                billable: r.billable_usage,
                [rowsName === 'by_tag' ? '% of org' : '% of account']:
                  rowsName === 'by_tag' ? r.percentage_in_org : r.percentage_in_account,
                [cost]: costOf(r),
              };
        console.log(table(isWide() ? rows : rows.map(compact)));
        if (rowsName === 'totals' && r.totals) console.log(totalCostLine(r.totals, r.currency));
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
      const status =
        o.status === undefined
          ? undefined
          : oneOf(o.status, ['pending', 'sending', 'sent', 'failed'], '--status');
      const limit = positiveInt(o.limit, '--limit');
      const rows =
        o.account === undefined
          ? await withDb((db) => allDeliveries(db, { status, limit }))
          : await withScope(o.account, (db, scope) => deliveries(db, scope, { status, limit }));
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
