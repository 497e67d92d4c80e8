import { DefaultLogger, Runtime } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { applyAccountSpec } from '../db/accounts';
import { ensureDatabase, migrateLatest } from '../db/migrate';
import { validateSpec } from '../domain/spec';
import { DAY_MS, HOUR_MS, isoHour } from '../domain/time';
import { loadConfig, PROJECT_ROOT, redactUrl } from '../infra/config';
import { createDb } from '../infra/db';
import { resolveEndpoints, stackDown, stackStatus, stackUp } from '../infra/stack';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { workflowIds } from '../domain/workflow-ids';
import { connectClient } from '../infra/temporal';
import { createWorker } from '../worker/worker';
import type { IngestDropFolderResult } from '../workflows/ingest-drop-folder';

import { table } from './lib/output';
import {
  badFeedLines,
  SAMPLE_ANOMALIES,
  sampleAnomalyDays,
  sampleUsage,
  writeRecords,
} from './lib/sample-data';
import { byOrg, requireVersion } from '../db/month-end-report';
import { formatNumber, orgSummaries } from '../domain/month-end-report';
import { startMailSink, type MailSink } from '../infra/mail-sink';
import type { MonthEndCloseResult } from '../workflows/month-end-close';
import { storedTrends } from '../db/trends';
import { trendTable } from './commands/trends';
import { alertHistory } from '../db/alert-reads';
import { estimateErrors, estimateReport } from '../db/estimates';
import type { UsageEstimatesResult } from '../workflows/usage-estimates';
import { applySchedules, applyLineText } from '../schedules/apply';
import { accountCalendars as readAccounts } from '../db/accounts';
import { scheduleRow } from '../schedules/operate';
import { backfillPlan, type BackfillInput, type BackfillStep } from '../workflows/backfill';
import { watch } from './commands/backfill';
import { startOrAttach, startWorkflow } from '../client/start';

/**
 * The main job end to end on embedded defaults: local stack, example account, ~7 months of hourly sample usage
 * dropped into the drop folder and ingested by the ingestDropFolder workflow through a real worker; the account's
 * schedules applied (paused: the demo stays deterministic); the history recomputed by one backfill workflow
 * (attribution of every day, then every month's close with its trends and finance mail); estimates and alerts at
 * the hours an hourly schedule would have run; then where every output is. `--keep` leaves the stack running
 * (with its Web UI); otherwise what the demo started is stopped at the end.
 */
let interrupted = false;
const log = (line: string) => process.stdout.write(`${line}\n`);
const step = (title: string) => log(`\n== ${title}`);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') }); // the worker's INFO lines would drown the demo's output
  const demoStarted = Date.now();
  const keep = process.argv.includes('--keep');
  const config = loadConfig();
  const before = stackStatus(config);
  const alreadyUp = (config.databaseUrl || before.postgres) && (config.temporalAddress || before.temporal);
  step('Local stack');
  const state = await stackUp(config, log, { detached: keep || Boolean(alreadyUp) });
  const ours = !alreadyUp && !keep;
  // Ctrl-C: stop what the demo started, then leave; in-flight work is safe to redo (batches are idempotent, and
  // the backfill's days and months run under their own workflow ids).
  process.once('SIGINT', () => {
    interrupted = true;
    log('\ninterrupted: stopping');
    void (ours ? stackDown(config, log) : Promise.resolve()).finally(() => process.exit(130));
  });
  const ep = resolveEndpoints(config);
  const db = createDb(ep.databaseUrl);
  try {
    await ensureDatabase(ep.databaseUrl);
    const applied = await migrateLatest(db);
    log(applied.length ? `migrated: ${applied.join(', ')}` : 'schema up to date');

    step('Account spec (examples/acme.json)');
    const specFile = path.join(PROJECT_ROOT, 'examples', 'acme.json');
    const v = validateSpec(JSON.parse(fs.readFileSync(specFile, 'utf8')));
    if (!v.ok) throw new Error(`example spec invalid: ${JSON.stringify(v.issues)}`);
    const asOfMs = Math.floor(Date.now() / DAY_MS) * DAY_MS; // today 00:00 UTC: data through yesterday
    const { changes } = await applyAccountSpec(db, v.spec, { asOfMs });
    log(
      changes.length
        ? `${changes.length} change(s), e.g. ${changes.slice(0, 3).join('; ')}`
        : 'account acme: no changes',
    );

    step('Sample usage into the drop folder');
    const files = await writeSample(config.dropDir, asOfMs);
    log(
      `${files.length} files, ${files.reduce((n, f) => n + f.records, 0).toLocaleString('en-US')} records in ${config.dropDir}`,
    );

    // Mail goes to SMTP_URL when set, else to a real SMTP server in this process that saves each message as .eml.
    const mailDir = path.join(config.outputDir, 'mail');
    const sink = config.smtpUrl ? undefined : await startMailSink({ dir: mailDir });
    const { worker, connection } = await createWorker({
      config,
      temporalAddress: ep.temporalAddress,
      db,
      smtpUrl: sink?.url,
    });
    const client = await connectClient(ep.temporalAddress, config.temporalNamespace);
    let ran: Ran | undefined;
    try {
      await worker.runUntil(async () => {
        const ingestId = await ingestPhase(client, config.taskQueue, asOfMs);
        const scheduleIds = await schedulesPhase(db, client, config.taskQueue);
        const backfill = await backfillPhase(db, client, config.taskQueue, config.outputDir, asOfMs, sink);
        const estimates = await estimatesPhase(db, client, config.taskQueue, asOfMs, sink);
        ran = { ingestId, scheduleIds, backfill, estimates };
      });
    } finally {
      await sink?.close();
      // On Ctrl-C the process exits from the SIGINT handler; closing the client under a pending poll would throw.
      if (!interrupted) {
        await client.connection.close();
        await connection.close();
      }
    }

    step('What is loaded (all batches)');
    const { rows } = await db.raw(`
      SELECT o.public_id AS org, o.billable, to_char(min(f.hour), 'YYYY-MM-DD') AS first_day,
             to_char(max(f.hour), 'YYYY-MM-DD') AS last_day, count(*) AS facts, count(DISTINCT f.product_id) AS products,
             count(DISTINCT f.tag_set_id) AS tag_sets
        FROM usage_facts f JOIN orgs o ON o.id = f.org_id GROUP BY 1, 2 ORDER BY 1`);
    log(table(rows));
    const q = await db.raw(`SELECT reason, count(*) AS records FROM quarantine GROUP BY 1 ORDER BY 1`);
    log(`\nquarantine by reason (see \`npm run orgtally -- quarantine list\`):\n${table(q.rows)}`);
    log(`\nprocessed files: ${path.join(config.dropDir, 'processed')}`);

    if (ran)
      await summary(db, ran, {
        outputDir: config.outputDir,
        mailDir,
        sink,
        smtpUrl: config.smtpUrl,
        uiUrl: ours ? undefined : state.temporal?.uiUrl,
        ours,
        started: demoStarted,
      });
  } finally {
    // After Ctrl-C the SIGINT handler owns the clean-up.
    if (!interrupted) {
      await db.destroy();
      if (ours) {
        step('Stopping the local stack');
        await stackDown(config, log);
      }
    }
  }
}

/** What the phases ran, for the summary. */
interface Ran {
  ingestId: string;
  scheduleIds: string[];
  backfill: BackfillRan;
  estimates: { ids: string[]; skipped: number };
}

interface BackfillRan {
  id: string;
  runs: number;
  months: string[];
  /** The last complete month: its chargeback, trends and report are shown. */
  lastMonth: string;
  lastVersion: number | undefined;
}

/** Runs ingestDropFolder over the sample files and prints what each file gave. */
async function ingestPhase(client: Client, taskQueue: string, asOfMs: number): Promise<string> {
  step('Workflow ingestDropFolder (worker in this process)');
  const asOf = new Date(asOfMs).toISOString();
  const workflowId = `${workflowIds.ingestDropFolder(asOf)}/demo-${Date.now()}`;
  const started = Date.now();
  const result: IngestDropFolderResult = await (
    await startWorkflow(client, 'ingestDropFolder', { taskQueue, workflowId, args: [{ asOf }] })
  ).result();
  const secs = (Date.now() - started) / 1000;
  log(`${workflowId} finished in ${secs.toFixed(1)} s`);
  log(
    table(
      result.files.map((f) =>
        f.outcome === 'processed'
          ? {
              file: f.name,
              read: f.records_read,
              accepted: f.accepted,
              quarantined: f.quarantined,
              note: f.duplicate_batch ? 'already ingested: nothing changed' : '',
            }
          : {
              file: f.name,
              note:
                f.outcome === 'failed'
                  ? `failed: ${f.error}`
                  : f.outcome === 'left'
                    ? `left for the next run: ${f.error}`
                    : 'moved by another run',
            },
      ),
      ['file', 'read', 'accepted', 'quarantined', 'note'],
    ),
  );
  log(
    `this run: ${result.accepted.toLocaleString('en-US')} accepted, ${result.quarantined} quarantined, ` +
      `${result.duplicates} duplicate file(s), ${result.failed} failed, ${result.left} left (${Math.round(result.accepted / secs).toLocaleString('en-US')} records/s)`,
  );
  return workflowId;
}

/** Without milliseconds, and without seconds when zero (as `schedules list`): `2026-12-04T01:00Z`. */
const short = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z').replace(/:00Z$/, 'Z');

/**
 * `orgtally schedules apply --paused`, then `schedules list`: the global ingest schedule and the account's four,
 * created paused so that none fires at a wall-clock time in the middle of the demo (a schedule that exists keeps
 * its state). Returns the schedule ids.
 */
async function schedulesPhase(db: Knex, client: Client, taskQueue: string): Promise<string[]> {
  step('Schedules (`orgtally schedules apply --paused`, then `schedules list`)');
  const target = { client, taskQueue };
  const lines = await applySchedules(target, await readAccounts(db), { paused: true });
  for (const l of lines) log(applyLineText(l));
  const ids = lines.filter((l) => l.outcome !== 'deleted').map((l) => l.scheduleId);
  // Described one by one: listing is eventually consistent and may miss a schedule created a moment ago.
  const rows = await Promise.all(
    ids.map(async (id) => scheduleRow(await client.schedule.getHandle(id).describe())),
  );
  const active = rows.filter((r) => !r.paused).map((r) => r.id);
  log(
    active.length
      ? `schedules applied; not paused, as they were before the demo: ${active.join(', ')} ` +
          `(\`npm run orgtally -- schedules pause <id>\`)`
      : `schedules applied (paused for the demo, so that none fires at a wall-clock time mid-demo; ` +
          `\`npm run orgtally -- schedules resume <id>\` lets one run on its calendar):`,
  );
  log(
    table(
      rows.map((r) => ({
        id: r.id,
        calendar: r.calendar,
        tz: r.timezone,
        overlap: r.overlap,
        paused: r.paused ? 'yes' : 'no',
        next_run: r.next[0] ? short(r.next[0]) : '',
      })),
    ),
  );
  return ids;
}

/**
 * The history through one `backfill` workflow, as `orgtally backfill --account acme --from <first day> --to <last
 * complete day> --steps attribution,month-end --concurrency 4` would run it, with the CLI's progress bar (stderr):
 * every day through dailyAttribution, four at a time, then every month the range touches through monthEndClose,
 * oldest first (each computes its six-month trends and mails finance once per version). Then what it gave: the
 * attribution totals and files, each month's close, the last complete month's chargeback per org and trend table.
 */
async function backfillPhase(
  db: Knex,
  client: Client,
  taskQueue: string,
  outputDir: string,
  asOfMs: number,
  sink: MailSink | undefined,
): Promise<BackfillRan> {
  // First day with usage and the last day that ended before asOf, both in the account's time zone.
  const { rows: ranges } = await db.raw(
    `SELECT to_char(min(f.hour) AT TIME ZONE a.timezone, 'YYYY-MM-DD') AS first_day,
            to_char((CAST(? AS timestamptz) AT TIME ZONE a.timezone)::date - 1, 'YYYY-MM-DD') AS last_day,
            to_char(date_trunc('month', now() AT TIME ZONE a.timezone) - interval '1 month', 'YYYY-MM')
              AS last_ended_month
       FROM accounts a JOIN orgs o ON o.account_id = a.id JOIN usage_facts f ON f.org_id = o.id
      WHERE a.id = 'acme' GROUP BY a.timezone`,
    [new Date(asOfMs).toISOString()],
  );
  const range = ranges[0] as { first_day: string; last_day: string; last_ended_month: string } | undefined;
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
  const dayState = `SELECT to_char(day, 'YYYY-MM-DD') AS day,
                            md5(concat_ws('|', facts, hourly_rows, daily_rows, files::text)) AS state
                       FROM attribution_runs WHERE account_id = 'acme' AND day BETWEEN ? AND ?`;
  const daysBefore = new Map<string, string>(
    (await db.raw(dayState, [input.from, input.to])).rows.map((x: { day: string; state: string }) => [
      x.day,
      x.state,
    ]),
  );
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

  const { rows: att } = await db.raw(
    `SELECT count(*)::int AS days, coalesce(sum(facts), 0)::bigint AS facts,
            coalesce(sum(hourly_rows), 0)::bigint AS hourly_rows,
            coalesce(sum(jsonb_array_length(files)), 0)::int AS files
       FROM attribution_runs WHERE account_id = 'acme' AND day BETWEEN ? AND ?`,
    [input.from, input.to],
  );
  const a = att[0] as { days: number; facts: string; hourly_rows: string; files: number };
  const daysAfter: { day: string; state: string }[] = (await db.raw(dayState, [input.from, input.to])).rows;
  const fresh = daysAfter.filter((x) => !daysBefore.has(x.day)).length;
  const changed = daysAfter.filter((x) => daysBefore.has(x.day) && daysBefore.get(x.day) !== x.state).length;
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
  const { rows: top } = await db.raw(
    `SELECT coalesce(d.cells[1], '') AS team, coalesce(d.cells[2], '') AS env, coalesce(d.cells[3], '') AS service,
            trim_scale(round(sum(d.total_usage), 3))::text AS gb, count(DISTINCT d.org_id) AS orgs
       FROM attribution_daily d JOIN products p ON p.id = d.product_id
      WHERE d.account_id = 'acme' AND p.code = 'logs_ingested_bytes' AND to_char(d.day, 'YYYY-MM') = ?
      GROUP BY d.cells ORDER BY sum(d.total_usage) DESC LIMIT 8`,
    [tagMonth],
  );
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
        `finance mail of v${c.close.version}: ${c.deliveries.map((x) => `${x.recipient} ${x.status}`).join(', ')}`,
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
      `${sent.length} finance message(s) received by the in-process SMTP server this run` +
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
        billable: o.billable ? 'yes' : 'no',
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

/**
 * Runs usageEstimates the way an hourly schedule would have, at fewer hours: once a day at 00:00 through the last
 * complete month (its estimate error against the month-end close), then at 12:00 on each of the last 10 days and
 * at asOf, oldest first, so that alerts move in order. Each run's alert mails are waited for.
 */
async function estimatesPhase(
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
  const { rows } = await db.raw(`SELECT max(as_of) AS latest FROM estimate_runs WHERE account_id = 'acme'`);
  const latest = rows[0].latest ? new Date(rows[0].latest).getTime() : -Infinity;
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

/** Where every output is, which workflows ran, and the commands to look further. */
async function summary(
  db: Knex,
  ran: Ran,
  o: {
    outputDir: string;
    mailDir: string;
    sink: MailSink | undefined;
    smtpUrl: string | undefined;
    uiUrl: string | undefined;
    ours: boolean;
    started: number;
  },
): Promise<void> {
  step('Where everything is');
  const b = ran.backfill;
  const count = (dir: string, ext: string) =>
    fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(ext)).length : 0;
  const attributionDir = path.join(o.outputDir, 'acme', 'attribution');
  const monthEndDir = path.join(o.outputDir, 'month-end', 'acme');
  const finance = new Set<string>(
    await db('finance_recipients').where({ account_id: 'acme' }).pluck('email'),
  );
  const received = o.sink?.messages ?? [];
  const financeMails = received.filter((m) => m.to.some((t) => finance.has(t))).length;
  const { rows: ledger } = await db.raw(
    `SELECT kind, count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*)::int AS mails
       FROM deliveries WHERE account_id = 'acme' GROUP BY kind ORDER BY kind`,
  );
  const ledgerText = (ledger as { kind: string; sent: number; mails: number }[])
    .map((l) => `${l.kind === 'month_end' ? 'finance' : l.kind} ${l.sent} sent of ${l.mails}`)
    .join(', ');
  const e = ran.estimates;
  const env = ['ORGTALLY_HOME', 'OUTPUT_DIR', 'DROP_DIR']
    .filter((k) => process.env[k])
    .map((k) => `${k}=${process.env[k]}`);
  const cli = 'npm run orgtally --';
  const lines: [string, string][] = [
    [
      'daily TSVs',
      `${attributionDir} (${count(attributionDir, '.tsv').toLocaleString('en-US')} files, daily_<product>_<YYYY-MM-DD>.tsv)`,
    ],
    [
      'month-end reports',
      `${monthEndDir}/<YYYY-MM>/v<N>/ (${b.months.length} months closed: ${b.months[0]} … ${b.months.at(-1)})` +
        (b.lastVersion
          ? `\n  ${b.lastMonth} mail preview: ${path.join(monthEndDir, b.lastMonth, `v${b.lastVersion}`, 'report.html')}`
          : ''),
    ],
    [
      'mail',
      (o.sink
        ? `${o.mailDir} (${count(o.mailDir, '.eml')} .eml): this run ${financeMails} finance, ` +
          `${received.length - financeMails} alert message(s)`
        : `sent to ${redactUrl(o.smtpUrl)}`) +
        `; the ledger: ${ledgerText || 'no mail'} (\`${cli} deliveries list\`)`,
    ],
    [
      'Temporal Web UI',
      o.uiUrl
        ? `${o.uiUrl} (stack left running; \`${cli} dev down\` stops it)`
        : o.ours
          ? `stopped with the stack below; its data stays in ORGTALLY_HOME: \`${cli} dev up\` starts it again ` +
            `(with the Web UI), and \`npm run demo -- --keep\` leaves it running`
          : '(Temporal is not the local dev server)',
    ],
    ['schedules', `${ran.scheduleIds.join(', ')}`],
    [
      'workflow ids',
      [
        ran.ingestId,
        `${b.id} (${b.runs} run(s)), with attribution/acme/<day> per day`,
        `month-end/acme/<month> and trends/acme/<month> for ${b.months.join(', ')}`,
        `estimates/acme/<hour>: ${e.ids.length} run(s) this time` +
          (e.skipped ? ` (${e.skipped} earlier hour(s) ran before)` : '') +
          (e.ids.length ? `, ${e.ids[0]} … ${e.ids.at(-1)}` : ''),
        `delivery/<ledger id>: one per mail`,
      ].join('\n  '),
    ],
    [
      'look further',
      [
        ...(env.length ? [`(with ${env.join(' ')} set as for this run)`] : []),
        ...(o.ours ? [`${cli} dev up`] : []),
        `${cli} report month-end --account acme --month ${b.lastMonth} [--format json]`,
        `${cli} report trends --account acme --month ${b.lastMonth}`,
        `${cli} report estimates --account acme   (and --error --month ${b.lastMonth})`,
        `${cli} alerts history --account acme`,
        `${cli} schedules list`,
        `${cli} backfill status ${b.id}   (a running worker answers it: \`${cli} worker\`)`,
      ].join('\n  '),
    ],
    ['took', `${((Date.now() - o.started) / 1000).toFixed(0)} s`],
  ];
  for (const [k, v] of lines) log(`${k.padEnd(18)}${v.replace(/\n {2}/g, `\n${' '.repeat(18)}`)}`);
}

/** Complete past months as one file each, this month's complete days one file each, plus CSV/TSV and bad feeds. */
async function writeSample(dropDir: string, asOfMs: number): Promise<{ name: string; records: number }[]> {
  const out: { name: string; records: number }[] = [];
  const now = new Date(asOfMs);
  const monthStart = (offset: number) => Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1);
  const put = async (
    name: string,
    fromMs: number,
    toMs: number,
    format: 'ndjson' | 'csv' | 'tsv' = 'ndjson',
  ) => {
    if (toMs <= fromMs) return;
    // The anomalies (a spike, a drop, a stalled org) sit just before asOf, whichever file they fall in.
    const records = sampleUsage({ fromMs, toMs, anomalies: { endMs: asOfMs } });
    out.push({ name, records: await writeRecords(path.join(dropDir, name), records, format) });
  };
  for (let m = -6; m < 0; m++)
    await put(
      `usage_${new Date(monthStart(m)).toISOString().slice(0, 7)}.ndjson`,
      monthStart(m),
      monthStart(m + 1),
    );
  for (let d = monthStart(0); d + DAY_MS <= asOfMs; d += DAY_MS) {
    await put(`usage_${new Date(d).toISOString().slice(0, 10)}.ndjson`, d, d + DAY_MS);
  }
  // A partner feed in CSV and TSV: one extra day of usage for the Asia-Pacific region, tagged env:apac.
  const partnerDay = monthStart(-1) + 14 * DAY_MS;
  const apac = (fmt: 'csv' | 'tsv') =>
    writeRecords(
      path.join(dropDir, `partner_apac.${fmt}`),
      (function* () {
        for (const r of sampleUsage({
          fromMs: partnerDay,
          toMs: partnerDay + DAY_MS,
          seed: fmt === 'csv' ? 7 : 8,
        })) {
          if (r.org === 'client-b') yield { ...r, tags: ['env:apac', `region:${fmt}`] };
        }
      })(),
      fmt,
    );
  out.push({ name: 'partner_apac.csv', records: await apac('csv') });
  out.push({ name: 'partner_apac.tsv', records: await apac('tsv') });
  const bad = badFeedLines(new Date(asOfMs - DAY_MS + 10 * 3600_000).toISOString());
  fs.writeFileSync(path.join(dropDir, 'bad_records.ndjson'), bad.map((l) => `${l}\n`).join(''));
  out.push({ name: 'bad_records.ndjson', records: bad.length });
  return out;
}

main().catch((err: unknown) => {
  if (interrupted) return; // the SIGINT handler is stopping the stack and will exit
  console.error(`demo failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
