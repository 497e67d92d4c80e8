import type { Command } from 'commander';
import { estimateErrorReport, latestEstimate } from '../../queries/estimates';
import { unpricedNow } from '../../queries/prices';
import { HOUR_MS, isoHour } from '../../domain/time';
import { workflowIds } from '../../domain/workflow-ids';
import type { UsageEstimatesResult } from '../../workflows/usage-estimates';
import { asOfFrom, log, withClient, withScope } from '../context';
import { oneOf } from '../lib/options';
import { costCell, costColumn } from '../lib/money';
import { isWide, printCsv, table } from '../lib/output';
import { startOrAttach } from '../../client/start';

const FORMATS = ['table', 'json', 'csv'] as const;
const ROWS = ['totals', 'by_org'] as const;

/** The points estimateErrors measures: the last run at or before 25, 50, 75 % of the month, and the last run. */
const TARGETS = [25, 50, 75, 100] as const;

const iso = (d: Date | string) => new Date(d).toISOString();

/** "+3.2 %", "-1.5 %", or "n/a" when the final figure is 0. */
const errorText = (pct: string | null) =>
  pct === null ? 'n/a' : `${pct.startsWith('-') ? '' : '+'}${pct} %`;

export function registerEstimates(run: Command, report: Command): void {
  run
    .command('estimates')
    .description('roll up new usage, store the month-to-date and projected figures, evaluate the alert rules')
    .requiredOption('--account <id>', 'account id')
    .option('--as-of <instant>', 'the instant estimated for (default now; truncated to its hour)')
    .option('--wait', 'wait for the result and print it')
    .action(async (o: { account: string; asOf?: string; wait?: boolean }) => {
      const hour = isoHour(Math.floor(asOfFrom(o.asOf) / HOUR_MS) * HOUR_MS);
      await withClient(async (client, config) => {
        const handle = await startOrAttach(client, 'usageEstimates', {
          taskQueue: config.taskQueue,
          workflowId: workflowIds.usageEstimates(o.account, hour),
          args: [{ accountId: o.account, asOf: hour }],
          log,
        });
        if (!o.wait) return;
        const r = (await handle.result()) as UsageEstimatesResult;
        const e = r.estimate;
        console.log(
          `${e.accountId} ${e.month} as of ${isoHour(Date.parse(e.asOf))}: ${e.hoursElapsed} of ${e.monthHours} h ` +
            `elapsed, data complete through ${e.dataCompleteThrough} (provisional); ${e.products} product(s), ` +
            `${e.orgRows} org row(s); ${r.rollup.batches} new batch(es) rolled up`,
        );
        const a = r.alerts;
        console.log(
          `alerts: ${a.evaluated} evaluated, ${a.notEvaluated} not evaluated, ${a.firing} firing; ` +
            `${a.notices.length} notice(s) created`,
        );
        for (const n of a.notices)
          console.log(`  ${n.notify} ${n.kind} ${n.ruleId} [${n.scopeKey}] ${n.window}: ${n.message}`);
        const started = r.deliveries.filter((d) => d.started).length;
        console.log(
          `deliveries: ${started} started, ${r.deliveries.length - started} already running (see \`orgtally deliveries list\`)`,
        );
        for (const d of r.deliveries)
          console.log(`  delivery/${d.id} to ${d.recipient}${d.started ? '' : ' (already running)'}`);
      });
    });

  report
    .command('estimates')
    .description(
      "the month's stored estimate (provisional): month-to-date and projected billable usage, included, " +
        'projected on-demand and its cost; or with --error, how far the estimates were from the month-end',
    )
    .requiredOption('--account <id>', 'account id')
    .option('--as-of <instant>', 'the run of that hour (default the latest run)')
    .option('--error', 'the estimate error of a closed month (needs --month)')
    .option('--month <YYYY-MM>', 'with --error: the month')
    .option('--format <format>', 'table | json | csv', 'table')
    .option(
      '--rows <rows>',
      'for table and csv: totals | by_org (org rows: kept for the last run of each UTC day)',
      'totals',
    )
    .action(
      async (o: {
        account: string;
        asOf?: string;
        error?: boolean;
        month?: string;
        format: string;
        rows: string;
      }) => {
        const format = oneOf(o.format, FORMATS, '--format');
        if (o.error) {
          if (o.month === undefined) throw new Error('--error needs --month YYYY-MM');
          if (o.asOf !== undefined)
            throw new Error('--as-of does not go with --error (every run of the month is used)');
          await reportErrors(o.account, o.month, format);
          return;
        }
        if (o.month !== undefined) throw new Error('--month goes with --error (use --as-of for a past run)');
        const rowsName = oneOf(o.rows, ROWS, '--rows');
        const asOf = o.asOf === undefined ? undefined : new Date(asOfFrom(o.asOf)).toISOString();
        // Which products have a price: as the commitments price them now (an estimate stores costs, not prices).
        const { r, unpriced, currency } = await withScope(o.account, async (db, scope) => ({
          r: await latestEstimate(db, scope, { asOf }),
          unpriced: new Set(await unpricedNow(db, scope)),
          currency: scope.currency,
        }));
        const totals = (r.totals ?? []).map((t) => ({ ...t, priced: !unpriced.has(t.usage_type) }));
        const head = {
          account: o.account,
          month: r.run.month,
          as_of: iso(r.run.as_of),
          hours_elapsed: r.run.hours_elapsed,
          month_hours: r.run.month_hours,
          data_complete_through: iso(r.run.data_complete_through),
          status: 'provisional' as const,
          currency,
        };
        if (format === 'json') {
          console.log(JSON.stringify({ ...head, totals, orgs: r.orgs }, null, 2));
          return;
        }
        if (format === 'csv') {
          printCsv(
            (rowsName === 'totals' ? totals.map((t) => ({ ...t, currency })) : r.orgs) as unknown as Record<
              string,
              unknown
            >[],
          );
          return;
        }
        log(
          `${o.account} ${head.month} as of ${head.as_of}: ${head.hours_elapsed} of ${head.month_hours} h elapsed; ` +
            `data complete through ${head.data_complete_through}; provisional ` +
            `(extrapolated = sum products scaled by the elapsed fraction; so_far = the rule over the hours so far)`,
        );
        if (rowsName === 'by_org') {
          if (!r.orgs.length) log('(no org rows: they are kept for the last run of each UTC day only)');
          console.log(
            table(
              r.orgs.map((g) => ({
                org: g.public_id,
                name: g.org_name,
                product: g.usage_type,
                mtd: g.mtd_usage,
                projected: g.projected_usage,
                note: g.billable ? '' : 'trial: not billed',
              })),
            ),
          );
          return;
        }
        console.log(
          table(
            totals.map((t) =>
              isWide()
                ? { ...t, currency }
                : {
                    product: t.usage_type,
                    unit: t.unit,
                    rule: t.aggregation,
                    method: t.method,
                    'mtd billable': t.mtd_billable,
                    projected: t.projected_billable,
                    included: t.included_usage,
                    'on-demand': t.projected_on_demand,
                    [costColumn('cost', currency)]: costCell(t.projected_on_demand_cost, t.priced),
                  },
            ) as Record<string, unknown>[],
          ),
        );
      },
    );
}

async function reportErrors(accountId: string, month: string, format: string): Promise<void> {
  const e = await withScope(accountId, (db, scope) => estimateErrorReport(db, scope, { month }));
  const rows = e.rows;
  if (format === 'json') {
    console.log(JSON.stringify({ account: accountId, month, version: e.version, rows }, null, 2));
    return;
  }
  if (format === 'csv') {
    printCsv(
      rows.map((r) => ({
        usage_type: r.usage_type,
        unit: r.unit,
        final_billable: r.final_billable,
        ...Object.fromEntries(
          TARGETS.flatMap((t) => {
            const p = r.points.find((x) => x.target_percent === t);
            return [
              [`at_${t}`, p ? p.at : ''],
              [`elapsed_percent_${t}`, p ? p.elapsed_percent : ''],
              [`projected_${t}`, p ? p.projected_billable : ''],
              [`error_percent_${t}`, p ? (p.error_percent ?? '') : ''],
            ];
          }),
        ),
      })),
    );
    return;
  }
  log(
    `${accountId} ${month}: estimates against month-end version ${e.version}; each point is the last run at or ` +
      `before that share of the month (its elapsed share in brackets), error = (projected − final) / final`,
  );
  console.log(
    table(
      rows.map((r) => ({
        usage_type: r.usage_type,
        unit: r.unit,
        final_billable: r.final_billable,
        ...Object.fromEntries(
          TARGETS.map((t) => {
            const p = r.points.find((x) => x.target_percent === t);
            return [
              `${t} %`,
              p ? `${p.projected_billable} (${errorText(p.error_percent)}) [${p.elapsed_percent} %]` : '–',
            ];
          }),
        ),
      })),
    ),
  );
}
