import type { Command } from 'commander';
import { byOrg, findVersion, totals } from '../../db/month-end-report';
import { monthToDate } from '../../db/month-end';
import { isMonth } from '../../domain/month-end';
import type { View } from '../../domain/trends';
import { summarizeOrgs, type SummaryOrgInput, type SummaryTotal } from '../../domain/usage-summary';
import { asOfFrom, log, withDb } from '../context';
import { table } from '../lib/output';
import { printCsv } from '../lib/output';

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
        if (!isMonth(o.month)) throw new Error(`--month "${o.month}" is not YYYY-MM`);
        if (!['billable', 'all'].includes(o.view)) throw new Error('--view must be billable or all');
        if (!['table', 'json', 'csv'].includes(o.format))
          throw new Error('--format must be table, json or csv');
        const view = o.view as View;
        const data = await withDb(async (db) => {
          const v = await findVersion(db, o.account, o.month);
          if (v) {
            return {
              source: `month-end version ${v.version} (${v.status})`,
              status: v.status,
              data_complete_through: v.data_complete_through,
              totals: (await totals(db, v)) as SummaryTotal[],
              orgs: (await byOrg(db, v)) as SummaryOrgInput[],
            };
          }
          const asOf = new Date(asOfFrom(o.asOf)).toISOString();
          const mtd = await monthToDate(db, { accountId: o.account, month: o.month, asOf });
          return {
            source: `month-to-date over ${mtd.hours} h through ${mtd.periodEnd} (not closed; provisional)`,
            status: 'month_to_date',
            data_complete_through: mtd.dataCompleteThrough,
            totals: mtd.totals,
            orgs: mtd.orgs,
          };
        });
        const orgs = summarizeOrgs(o.account, data.orgs, view);
        const usage = data.totals.map((t) => ({
          usage_type: t.usage_type,
          unit: t.unit,
          total_usage: t.total_usage,
          billable_usage: t.billable_usage,
          committed_cost: t.committed_cost,
          on_demand_cost: t.on_demand_cost,
          total_cost: t.total_cost,
        }));
        const orgRows = orgs.map((r) => ({
          public_id: r.public_id,
          org_name: r.org_name,
          usage_type: r.usage_type,
          total_usage: r.total_usage,
          billable_usage: r.billable_usage,
          percentage_in_account: r.percentage_in_account,
          total_cost: r.total_cost,
          billable: r.billable,
          is_parent: r.is_parent,
          non_billable_reason: r.non_billable_reason,
        }));
        if (o.format === 'json') {
          console.log(
            JSON.stringify(
              {
                account: o.account,
                month: o.month,
                view,
                source: data.source,
                status: data.status,
                data_complete_through: data.data_complete_through,
                usage,
                ...(o.includeOrgDetails ? { orgs: orgRows } : {}),
              },
              null,
              2,
            ),
          );
          return;
        }
        const rows: Record<string, unknown>[] = o.includeOrgDetails ? orgRows : usage;
        if (o.format === 'csv') {
          printCsv(rows);
          return;
        }
        log(
          `${o.account} ${o.month}: ${data.source}; data complete through ${data.data_complete_through}; view ${view}`,
        );
        console.log(
          table(
            o.includeOrgDetails
              ? orgRows.map((r) => ({
                  org: `${r.public_id}${r.is_parent ? ' (parent)' : ''}`,
                  product: r.usage_type,
                  total: r.total_usage,
                  billable: r.billable_usage,
                  [`% of ${view}`]: r.percentage_in_account,
                  cost: r.total_cost,
                  note: r.billable ? '' : 'trial: not billed',
                }))
              : rows,
          ),
        );
      },
    );
}
