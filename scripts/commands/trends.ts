import type { Command } from 'commander';
import type { StoredTrend } from '../../db/trends';
import { trendsReport } from '../../queries/trends';
import { oneOf } from '../lib/options';
import { isMonth } from '../../domain/month-end';
import { sparkline, type View } from '../../domain/trends';
import { workflowIds } from '../../domain/workflow-ids';
import { log, withClient, withScope } from '../context';
import { table } from '../lib/output';
import { csvLine } from '../lib/output';
import { startOrAttach } from '../../client/start';

const change = (kind: string, abs: string | null, pct: string | null) =>
  kind === 'absent'
    ? ''
    : kind === 'new'
      ? `+${abs} (new)`
      : `${abs?.startsWith('-') ? '' : '+'}${abs} (${pct} %)`;

/** The terminal table: one line per org (or the account) × product × view, with a six-month sparkline. */
export function trendTable(months: string[], rows: StoredTrend[]): string {
  return table(
    rows.map((r) => ({
      org: r.scope === 'account' ? '(account)' : r.public_id,
      name: r.scope === 'account' ? '' : r.org_name,
      product: r.usage_type,
      view: r.view,
      trend: sparkline(r.values),
      ...Object.fromEntries(months.map((m, i) => [m, r.values[i] ?? '–'])),
      'm/m': change(r.mom_kind, r.mom_abs, r.mom_pct),
      '6 months': change(r.six_kind, r.six_abs, r.six_pct),
    })),
  );
}

export function registerTrends(run: Command, report: Command): void {
  run
    .command('trends')
    .description('compute the six-month trends ending at a month (from its month-end versions)')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--month <YYYY-MM>', 'the last month of the window')
    .option('--wait', 'wait for the result and print it')
    .action(async (o: { account: string; month: string; wait?: boolean }) => {
      if (!isMonth(o.month)) throw new Error(`--month "${o.month}" is not YYYY-MM`);
      await withClient(async (client, config) => {
        const handle = await startOrAttach(client, 'sixMonthTrends', {
          taskQueue: config.taskQueue,
          workflowId: workflowIds.sixMonthTrends(o.account, o.month),
          args: [{ accountId: o.account, month: o.month }],
          log,
        });
        if (o.wait) console.log(JSON.stringify(await handle.result(), null, 2));
      });
    });

  report
    .command('trends')
    .description(
      'six-month trends per org and product: values, month-over-month and six-month change, movers',
    )
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--month <YYYY-MM>', 'the last month of the window')
    .option('--org <public id>', 'one org')
    .option('--view <view>', 'billable | all (default both)')
    .option('--format <format>', 'table | json | csv', 'table')
    .action(async (o: { account: string; month: string; org?: string; view?: string; format: string }) => {
      const view = o.view === undefined ? undefined : (oneOf(o.view, ['billable', 'all'], '--view') as View);
      const format = oneOf(o.format, ['table', 'json', 'csv'], '--format');
      const t = await withScope(o.account, (db, scope) =>
        trendsReport(db, scope, { month: o.month, org: o.org, view }),
      );
      if (format === 'json') {
        console.log(
          JSON.stringify(
            {
              account: o.account,
              month: o.month,
              months: t.months,
              missing_months: t.missingMonths,
              rows: t.rows.map((r) => ({
                public_id: r.scope === 'account' ? null : r.public_id,
                org_name: r.org_name,
                usage_type: r.usage_type,
                view: r.view,
                values: r.values,
                month_over_month: { kind: r.mom_kind, abs: r.mom_abs, pct: r.mom_pct },
                six_month: { kind: r.six_kind, abs: r.six_abs, pct: r.six_pct },
              })),
              top_movers: t.movers,
            },
            null,
            2,
          ),
        );
        return;
      }
      if (format === 'csv') {
        console.log(
          csvLine([
            'public_id',
            'org_name',
            'usage_type',
            'view',
            ...t.months,
            'mom_abs',
            'mom_pct',
            'six_month_abs',
            'six_month_pct',
          ]),
        );
        for (const r of t.rows) {
          console.log(
            csvLine([
              r.scope === 'account' ? '' : r.public_id,
              r.org_name,
              r.usage_type,
              r.view,
              ...r.values,
              r.mom_abs,
              r.mom_kind === 'new' ? 'new' : r.mom_pct,
              r.six_abs,
              r.six_kind === 'new' ? 'new' : r.six_pct,
            ]),
          );
        }
        return;
      }
      if (t.missingMonths.length) log(`not closed yet (values absent): ${t.missingMonths.join(', ')}`);
      console.log(trendTable(t.months, t.rows));
    });
}
