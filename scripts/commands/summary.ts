import type { Command } from 'commander';
import type { View } from '../../domain/trends';
import { usageSummary } from '../../queries/summary';
import { asOfFrom, log, withScope } from '../context';
import { oneOf } from '../lib/options';
import { costCell, costColumn, totalCostLine } from '../lib/money';
import { printCsv, table } from '../lib/output';

export function registerSummary(report: Command): void {
  report
    .command('summary')
    .description(
      'usage of every org for a closed month (its latest version) or month-to-date, billable or all',
    )
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--month <YYYY-MM>', 'the month (not closed yet: month-to-date as of --as-of)')
    .option('--view <view>', 'billable | all: which usage the shares are of', 'billable')
    .option('--include-org-details', 'one row per org and product (the "Individual organizations" view)')
    .option('--as-of <instant>', 'for month-to-date: the instant (default now)')
    .option('--format <format>', 'table | json | csv', 'table')
    .action(
      async (o: {
        account: string;
        month: string;
        view: string;
        includeOrgDetails?: boolean;
        asOf?: string;
        format: string;
      }) => {
        const view = oneOf(o.view, ['billable', 'all'], '--view') as View;
        const format = oneOf(o.format, ['table', 'json', 'csv'], '--format');
        const asOf = new Date(asOfFrom(o.asOf)).toISOString();
        const data = await withScope(o.account, (db, scope) =>
          usageSummary(db, scope, { month: o.month, view, asOf }),
        );
        const orgs = data.orgs;
        const usage = data.usage ?? [];
        const orgRows = orgs.map((r) => ({
          public_id: r.public_id,
          org_name: r.org_name,
          usage_type: r.usage_type,
          total_usage: r.total_usage,
          billable_usage: r.billable_usage,
          percentage_in_account: r.percentage_in_account,
          total_cost: r.total_cost,
          priced: r.priced,
          billable: r.billable,
          is_parent: r.is_parent,
          non_billable_reason: r.non_billable_reason,
        }));
        if (format === 'json') {
          console.log(
            JSON.stringify(
              {
                account: o.account,
                month: o.month,
                view,
                source: data.source,
                status: data.status,
                data_complete_through: data.data_complete_through,
                currency: data.currency,
                usage,
                ...(o.includeOrgDetails ? { orgs: orgRows } : {}),
              },
              null,
              2,
            ),
          );
          return;
        }
        // CSV: every column under its JSON name, amounts exact, with the currency beside them.
        const rows: Record<string, unknown>[] = (o.includeOrgDetails ? orgRows : usage).map((r) => ({
          ...r,
          currency: data.currency,
        }));
        if (format === 'csv') {
          printCsv(rows);
          return;
        }
        const cost = (name: string) => costColumn(name, data.currency);
        log(
          `${o.account} ${o.month}: ${data.source}; data complete through ${data.data_complete_through}; view ${view}`,
        );
        console.log(
          table(
            o.includeOrgDetails
              ? orgRows.map((r) => ({
                  org: `${r.public_id}${r.is_parent ? ' (parent)' : ''}`,
                  name: r.org_name,
                  product: r.usage_type,
                  total: r.total_usage,
                  billable: r.billable_usage,
                  [`% of ${view}`]: r.percentage_in_account,
                  [cost('cost')]: costCell(r.total_cost, r.priced),
                  note: r.billable ? '' : 'trial: not billed',
                }))
              : usage.map((u) => ({
                  product: u.usage_type,
                  unit: u.unit,
                  total: u.total_usage,
                  billable: u.billable_usage,
                  [cost('committed')]: costCell(u.committed_cost, u.priced),
                  [cost('on-demand')]: costCell(u.on_demand_cost, u.priced),
                  [cost('cost')]: costCell(u.total_cost, u.priced),
                })),
          ),
        );
        if (!o.includeOrgDetails && usage.length) console.log(totalCostLine(usage, data.currency));
      },
    );
}
