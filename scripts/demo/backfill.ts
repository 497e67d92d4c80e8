import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { workflowIds } from '../../domain/workflow-ids';

import { table } from '../lib/output';
import { byOrg, requireVersion } from '../../db/month-end-report';
import { formatNumber, orgSummaries } from '../../domain/month-end-report';
import { type MailSink } from '../../infra/mail-sink';
import type { MonthEndCloseResult } from '../../workflows/month-end-close';
import { storedTrends } from '../../db/trends';
import { trendTable } from '../commands/trends';
import { backfillPlan, type BackfillInput, type BackfillStep } from '../../workflows/backfill';
import { watch } from '../commands/backfill';
import { startOrAttach } from '../../client/start';
import { log, step } from './log';
import type { BackfillRan } from './types';
import {
  attributionStates,
  attributionTotals,
  currentTagKeys,
  topTagCombinations,
  usageRange,
} from '../../db/overview';
/**
 * The history through one `backfill` workflow, as `orgtally backfill --account acme --from <first day> --to <last
 * complete day> --steps attribution,month-end --concurrency 4` would run it, with the CLI's progress bar (stderr):
 * every day through dailyAttribution, four at a time, then every month the range touches through monthEndClose,
 * oldest first (each computes its six-month trends and mails finance once per version). Then what it gave: the
 * attribution totals and files, each month's close, the last complete month's chargeback per org and trend table.
 */
export async function backfillPhase(
  db: Knex,
  client: Client,
  taskQueue: string,
  outputDir: string,
  asOfMs: number,
  sink: MailSink | undefined,
): Promise<BackfillRan> {
  // First day with usage and the last day that ended before asOf, both in the account's time zone.
  const range = await usageRange(db, 'acme', new Date(asOfMs).toISOString());
  if (!range) throw new Error('no usage for acme: nothing to backfill');
  const steps: BackfillStep[] = ['attribution', 'month-end'];
  const input: BackfillInput = {
    accountId: 'acme',
    from: range.first_day,
    to: range.last_day,
    steps,
    concurrency: 4,
  };
  // as the workflow plans it: months that have not ended (this one) get their days attributed, not a close
  const plan = backfillPlan(input, range.last_ended_month);
  const dayCount = plan.filter((u) => u.step === 'attribution').length;
  const months = plan.filter((u) => u.step === 'month-end').map((u) => u.key);
  const id = workflowIds.backfill('acme', input.from, input.to);
  step(`Workflow backfill ${id}`);
  log(
    `as \`orgtally backfill --account acme --from ${input.from} --to ${input.to} --steps ${steps.join(',')} ` +
      `--concurrency 4\`: ${dayCount} days through attribution/acme/<day>, 4 at a time, then ${months.length} ` +
      `months oldest first through month-end/acme/<month> (each computes trends/acme/<month> and mails finance ` +
      `once per version); progress bar on stderr`,
  );
  // What each day's attribution gave before, to show what the backfill changed (rows and file checksums).
  const daysBefore = await attributionStates(db, 'acme', input.from, input.to);
  const mailsBefore = sink?.messages.length ?? 0;
  const started = Date.now();
  const handle = await startOrAttach(client, 'backfill', {
    taskQueue,
    workflowId: id,
    args: [input],
    log,
  });
  const r = await watch(handle, id, { detachOnInterrupt: false }); // Ctrl-C is the demo's: it stops the stack
  const secs = (Date.now() - started) / 1000;
  log(
    `${id}: ${r.done}/${r.total} units in ${secs.toFixed(1)} s, ${r.runs} run(s) (it continues as new every ` +
      `100 units), ${r.failed} failed`,
  );
  if (r.failed) {
    for (const f of r.failures) log(`  failed: ${f.unit}: ${f.error}`);
    throw new Error(`${id}: ${r.failed} unit(s) failed (\`npm run orgtally -- backfill status ${id}\`)`);
  }

  // Each month's close as the backfill ran it (the latest run under its id), oldest first.
  const closes: MonthEndCloseResult[] = [];
  for (const m of months)
    closes.push(await client.workflow.getHandle(workflowIds.monthEndClose('acme', m)).result());
  const extraDays = closes.flatMap((c) => c.attributedDays);

  const a = await attributionTotals(db, 'acme', input.from, input.to);
  const daysAfter = [...(await attributionStates(db, 'acme', input.from, input.to))];
  const fresh = daysAfter.filter(([day]) => !daysBefore.has(day)).length;
  const changed = daysAfter.filter(([day, st]) => daysBefore.has(day) && daysBefore.get(day) !== st).length;
  log(
    `\nattribution: ${a.days} days, ${Number(a.facts).toLocaleString('en-US')} facts → ` +
      `${Number(a.hourly_rows).toLocaleString('en-US')} hourly rows, ${a.files.toLocaleString('en-US')} TSV files ` +
      `written and reconciled` +
      (fresh ? `; ${fresh} day(s) attributed for the first time` : '') +
      (daysBefore.size
        ? `; ${daysBefore.size} attributed before this run: ` +
          (changed ? `${changed} changed` : 'none changed (same rows, byte-identical files)')
        : ''),
  );
  if (extraDays.length)
    log(
      `the closes also attributed the days of their months after the range, never attributed before ` +
        `(${extraDays.join(', ')}: no data yet, header-only files until it arrives)`,
    );
  log(`daily TSVs: ${path.join(outputDir, 'acme', 'attribution')} (daily_<product>_<YYYY-MM-DD>.tsv)`);
  const tagMonth = input.to.slice(0, 7);
  const top = await topTagCombinations(db, {
    accountId: 'acme',
    product: 'logs_ingested_bytes',
    month: tagMonth,
    tagKeys: await currentTagKeys(db, 'acme'),
    limit: 8,
  });
  log(`\ntop tag combinations for logs_ingested_bytes in ${tagMonth} (GB; blank = untagged):\n${table(top)}`);

  log(`\nmonth-end closes (ids month-end/acme/<month>), oldest first:`);
  closes.forEach((c, i) => {
    const what =
      c.close.outcome === 'created'
        ? c.close.previousVersion
          ? `restated (was v${c.close.previousVersion})`
          : 'new figures'
        : c.close.outcome === 'finalized'
          ? 'figures unchanged, now final: nothing new to mail'
          : 'figures unchanged: nothing new to mail';
    log(
      `${months[i]}: version ${c.close.version} (${c.close.status}), ${what}; ` +
        `finance mail of v${c.close.version}: ${c.deliveries.map((x) => `${x.recipient} ${x.status}`).join(', ')}` +
        (c.statements?.length
          ? `; statements: ${c.statements.map((x) => `${x.org} to ${x.recipient} ${x.status}`).join(', ')}`
          : ''),
    );
  });
  const month = range.last_ended_month; // the last complete month: its files, chargeback and trends below
  if (range.last_day.slice(0, 7) > range.last_ended_month)
    log(
      `(${range.last_day.slice(0, 7)} has not ended: the backfill attributed its days but does not close it; the ` +
        `month-end schedule closes a month after its end and lateness window)`,
    );
  const sent = sink ? sink.messages.slice(mailsBefore) : [];
  if (sink)
    log(
      `${sent.length} message(s) (finance mails and client statements) received by the in-process SMTP server this run` +
        (sent.length ? ` (saved as .eml in ${path.dirname(sent[0]?.file ?? '')})` : ''),
    );
  const last = closes[months.indexOf(month)];
  if (!last) return { id, runs: r.runs, months, lastMonth: month, lastVersion: undefined };
  const c = last.close;
  const dir = path.join(outputDir, 'month-end', 'acme', month, `v${c.version}`);
  log(
    `\nfiles of ${month}, the last complete month: ${dir}\n` +
      last.files.map((f) => `  ${f.name} (${f.bytes.toLocaleString('en-US')} bytes)`).join('\n'),
  );
  log(`HTML preview of the ${month} mail: ${path.join(dir, 'report.html')}`);
  const v = await requireVersion(db, 'acme', month, c.version);
  const orgs = orgSummaries(await byOrg(db, v));
  log(`\nchargeback per org, ${month} (all products; trial orgs carry no cost):`);
  log(
    table(
      orgs.map((o) => ({
        org: o.public_id,
        name: o.org_name,
        billable: o.billable,
        products: o.products,
        cost: formatNumber(o.total_cost, 2),
        share: `${o.share_of_cost} %`,
      })),
    ),
  );
  const t = await storedTrends(db, { accountId: 'acme', month, view: 'billable' });
  if (t) {
    log(`\nsix-month trends to ${month}, billable view (\`report trends --account acme --month ${month}\`):`);
    log(trendTable(t.months, t.rows));
  }
  log(
    `(\`npm run orgtally -- report month-end --account acme --month ${month} --format json\` has every row)`,
  );
  return { id, runs: r.runs, months, lastMonth: month, lastVersion: c.version };
}
