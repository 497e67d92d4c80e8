import { DAY_MS, HOUR_MS, isoHour } from '../../domain/time';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { workflowIds } from '../../domain/workflow-ids';

import { table } from '../lib/output';
import { SAMPLE_ANOMALIES, sampleAnomalyDays } from '../lib/sample-data';
import { formatNumber } from '../../domain/month-end-report';
import { type MailSink } from '../../infra/mail-sink';
import { alertHistory } from '../../db/alert-reads';
import { estimateErrors, estimateReport } from '../../db/estimate-reads';
import type { UsageEstimatesResult } from '../../workflows/usage-estimates';
import { startWorkflow } from '../../client/start';
import { log, step } from './log';
import { latestEstimateAt } from '../../db/overview';
/**
 * Runs usageEstimates the way an hourly schedule would have, at fewer hours: once a day at 00:00 through the last
 * complete month (its estimate error against the month-end close), then at 12:00 on each of the last 10 days and
 * at asOf, oldest first, so that alerts move in order. Each run's alert mails are waited for.
 */
export async function estimatesPhase(
  db: Knex,
  client: Client,
  taskQueue: string,
  asOfMs: number,
  sink: MailSink | undefined,
): Promise<{ ids: string[]; skipped: number }> {
  const d = new Date(asOfMs);
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
  const monthEnd = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const month = new Date(monthStart).toISOString().slice(0, 7);
  const hours = new Set<number>();
  for (let t = monthStart + DAY_MS; t <= monthEnd; t += DAY_MS) hours.add(t);
  for (let k = 10; k >= 1; k--) hours.add(asOfMs - k * DAY_MS + 12 * HOUR_MS);
  hours.add(asOfMs);
  const all = [...hours].sort((a, b) => a - b);
  step(`Workflow usageEstimates at ${all.length} as-of hours (ids estimates/acme/<hour>)`);
  const a = sampleAnomalyDays(asOfMs);
  const { spike, drop, stall } = SAMPLE_ANOMALIES;
  log(
    `sample anomalies: ${spike.org} ${spike.product} ${spike.factor}× on ${a.spikeDay}; ` +
      `${drop.org} ${drop.product} at ${drop.factor * 100} % on ${a.dropDay}; ` +
      `${stall.org} silent from ${isoHour(a.stallFromMs)} (lateness 72 h: a day is judged 4 days after it starts)`,
  );
  log(
    `as-of hours: every day 00:00 from ${isoHour(all[0] as number)} to ${isoHour(monthEnd)} (${month}), ` +
      `12:00 on the last 10 days, and ${isoHour(asOfMs)}`,
  );
  // Alert states only move forward in time: on a stack that already ran these hours (the demo run again), the
  // hours before its latest estimate are not replayed; the latest is run again and changes nothing.
  const latest = (await latestEstimateAt(db, 'acme'))?.getTime() ?? -Infinity;
  const asOfs = all.filter((t) => t >= latest).map(isoHour);
  if (asOfs.length < all.length)
    log(
      `${all.length - asOfs.length} hour(s) already estimated on this stack (before ${isoHour(latest)}): not run again`,
    );
  const before = sink?.messages.length ?? 0;
  const started = Date.now();
  let batches = 0;
  let mails = 0;
  for (const asOf of asOfs) {
    const r: UsageEstimatesResult = await (
      await startWorkflow(client, 'usageEstimates', {
        taskQueue,
        workflowId: workflowIds.usageEstimates('acme', asOf),
        args: [{ accountId: 'acme', asOf }],
      })
    ).result();
    // The deliveries outlive the run (ABANDON); wait for them so that the mails are in before the next hour.
    await Promise.all(
      r.deliveries.map((x) => client.workflow.getHandle(workflowIds.delivery(x.id)).result()),
    );
    batches += r.rollup.batches;
    mails += r.deliveries.length;
  }
  const secs = (Date.now() - started) / 1000;
  log(
    `${asOfs.length} run(s) in ${secs.toFixed(1)} s (${(secs / Math.max(1, asOfs.length)).toFixed(2)} s each): ` +
      `${batches} ingest batch(es) rolled up, ${mails} alert mail(s) delivered`,
  );

  const events = (await alertHistory(db, 'acme')).reverse();
  log(`\nalert notices, oldest first (\`npm run orgtally -- alerts history --account acme\`):`);
  log(
    table(
      events.map((e) => ({
        as_of: isoHour(new Date(e.as_of).getTime()),
        rule: e.rule_id,
        kind: e.kind,
        notify: e.notify,
        scope: e.scope_key,
        message: e.message,
      })),
    ),
  );
  if (sink) {
    const alertMails = sink.messages.slice(before).filter((m) => m.to.includes('ops@acme.example'));
    log(`${alertMails.length} alert mail(s) received by the in-process SMTP server (to ops@acme.example)`);
  }

  const r = await estimateReport(db, 'acme');
  if (r) {
    log(
      `\nlatest estimate: ${r.run.month} as of ${isoHour(new Date(r.run.as_of).getTime())}, ` +
        `${r.run.hours_elapsed} of ${r.run.month_hours} h elapsed, data complete through ` +
        `${isoHour(new Date(r.run.data_complete_through).getTime())} (provisional; sum products extrapolated):`,
    );
    log(
      table(
        r.totals.map((t) => ({
          product: t.usage_type,
          unit: t.unit,
          rule: t.aggregation,
          mtd_billable: formatNumber(t.mtd_billable, 2),
          projected_billable: formatNumber(t.projected_billable, 2),
          included: formatNumber(t.included_usage, 2),
          projected_on_demand: formatNumber(t.projected_on_demand, 2),
        })),
      ),
    );
  }

  const e = await estimateErrors(db, 'acme', month);
  const targets = [25, 50, 75, 100];
  log(
    `\nestimate error for ${month} against its month-end close (version ${e.version}): ` +
      `(projected − final) / final of the last run at or before 25 / 50 / 75 / 100 % of the month ` +
      `[that run's elapsed share]:`,
  );
  log(
    table(
      e.rows.map((row) => {
        const pts = targets.slice(targets.length - row.points.length);
        return {
          product: row.usage_type,
          unit: row.unit,
          final_billable: formatNumber(row.final_billable, 2),
          ...Object.fromEntries(
            row.points.map((p, i) => [
              `${pts[i]} %`,
              `${p.error_percent === null ? 'n/a' : `${p.error_percent.startsWith('-') ? '' : '+'}${p.error_percent} %`} [${p.elapsed_percent} %]`,
            ]),
          ),
        };
      }),
    ),
  );
  return {
    ids: asOfs.map((asOf) => workflowIds.usageEstimates('acme', asOf)),
    skipped: all.length - asOfs.length,
  };
}
