import { DefaultLogger, Runtime } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { applyAccountSpec } from '../db/accounts';
import { ensureDatabase, migrateLatest } from '../db/migrate';
import { validateSpec } from '../domain/spec';
import { DAY_MS, HOUR_MS, isoHour } from '../domain/time';
import { loadConfig, PROJECT_ROOT } from '../infra/config';
import { createDb } from '../infra/db';
import { resolveEndpoints, stackDown, stackStatus, stackUp } from '../infra/stack';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { pendingDays } from '../db/attribution';
import { connectClient, workflowIds } from '../infra/temporal';
import { runAttribution } from './commands/attribution';
import { createWorker } from '../worker/worker';
import type { IngestDropFolderResult } from '../workflows/ingest-drop-folder';
import { table } from './context';
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
import { alertHistory } from '../db/alerts';
import { estimateErrors, estimateReport } from '../db/estimates';
import type { UsageEstimatesResult } from '../workflows/usage-estimates';

/**
 * The main job on embedded defaults: local stack, example account, ~7 months of hourly sample usage dropped into
 * the drop folder, ingested by the ingestDropFolder workflow through a real worker. `--keep` leaves the stack
 * running (with its Web UI); otherwise what the demo started is stopped at the end.
 */
let interrupted = false;
const log = (line: string) => process.stdout.write(`${line}\n`);
const step = (title: string) => log(`\n== ${title}`);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') }); // the worker's INFO lines would drown the demo's output
  const keep = process.argv.includes('--keep');
  const config = loadConfig();
  const before = stackStatus(config);
  const alreadyUp = (config.databaseUrl || before.postgres) && (config.temporalAddress || before.temporal);
  step('Local stack');
  const state = await stackUp(config, log, { detached: keep || Boolean(alreadyUp) });
  const ours = !alreadyUp && !keep;
  // Ctrl-C: stop what the demo started, then leave; in-flight work is safe to redo (batches are idempotent).
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
    try {
      await worker.runUntil(async () => {
        await ingestPhase(client, config.taskQueue, asOfMs);
        await attributionPhase(db, client, config.taskQueue, config.outputDir);
        await monthEndPhase(db, client, config.taskQueue, config.outputDir, asOfMs, sink);
        await estimatesPhase(db, client, config.taskQueue, asOfMs, sink);
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
    if (!ours)
      log(
        `stack left running: ${state.temporal?.uiUrl ? `Temporal Web UI ${state.temporal.uiUrl}` : ''} (\`npm run orgtally -- dev down\` stops it)`,
      );
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

/** Runs ingestDropFolder over the sample files and prints what each file gave. */
async function ingestPhase(client: Client, taskQueue: string, asOfMs: number): Promise<void> {
  step('Workflow ingestDropFolder (worker in this process)');
  const asOf = new Date(asOfMs).toISOString();
  const workflowId = `${workflowIds.ingestDropFolder(asOf)}/demo-${Date.now()}`;
  const started = Date.now();
  const result: IngestDropFolderResult = await client.workflow.execute('ingestDropFolder', {
    taskQueue,
    workflowId,
    args: [{ asOf }],
  });
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
          : { file: f.name, note: f.outcome === 'failed' ? `failed: ${f.error}` : 'moved by another run' },
      ),
      ['file', 'read', 'accepted', 'quarantined', 'note'],
    ),
  );
  log(
    `this run: ${result.accepted.toLocaleString('en-US')} accepted, ${result.quarantined} quarantined, ` +
      `${result.duplicates} duplicate file(s), ${result.failed} failed (${Math.round(result.accepted / secs).toLocaleString('en-US')} records/s)`,
  );
}

/** Attributes every day the ingest marked pending, through dailyAttribution workflows, four at a time. */
async function attributionPhase(
  db: Knex,
  client: Client,
  taskQueue: string,
  outputDir: string,
): Promise<void> {
  step('Workflow dailyAttribution for every pending day');
  const days = await pendingDays(db, 'acme');
  const started = Date.now();
  let facts = 0;
  let rows = 0;
  let files = 0;
  await runAttribution(client, taskQueue, 'acme', days, {
    wait: true,
    concurrency: 4,
    onDone: (_day, r) => {
      facts += r.attribution.facts;
      rows += r.attribution.hourlyRows;
      files += r.files.length;
    },
  });
  const secs = (Date.now() - started) / 1000;
  log(
    `${days.length} days attributed in ${secs.toFixed(1)} s: ${facts.toLocaleString('en-US')} facts → ` +
      `${rows.toLocaleString('en-US')} hourly rows, ${files} TSV files written and reconciled`,
  );
  log(`daily TSVs: ${path.join(outputDir, 'acme', 'attribution')} (daily_<product>_<YYYY-MM-DD>.tsv)`);
  const month = days.length ? (days[days.length - 1] as string).slice(0, 7) : '';
  const { rows: top } = await db.raw(
    `SELECT coalesce(d.cells[1], '') AS team, coalesce(d.cells[2], '') AS env, coalesce(d.cells[3], '') AS service,
            trim_scale(round(sum(d.total_usage), 3))::text AS gb, count(DISTINCT d.org_id) AS orgs
       FROM attribution_daily d JOIN products p ON p.id = d.product_id
      WHERE d.account_id = 'acme' AND p.code = 'logs_ingested_bytes' AND to_char(d.day, 'YYYY-MM') = ?
      GROUP BY d.cells ORDER BY sum(d.total_usage) DESC LIMIT 8`,
    [month],
  );
  log(`\ntop tag combinations for logs_ingested_bytes in ${month} (GB; blank = untagged):\n${table(top)}`);
}

/**
 * Closes the six complete months through monthEndClose, oldest first (each mails finance once and computes its
 * six-month trends), then shows the last month's chargeback per org and its trend table.
 */
async function monthEndPhase(
  db: Knex,
  client: Client,
  taskQueue: string,
  outputDir: string,
  asOfMs: number,
  sink: MailSink | undefined,
): Promise<void> {
  const d = new Date(asOfMs);
  const months = [6, 5, 4, 3, 2, 1].map((k) =>
    new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - k, 1)).toISOString().slice(0, 7),
  );
  const month = months[months.length - 1] as string;
  step(`Workflow monthEndClose for ${months[0]} … ${month} (ids month-end/acme/<month>)`);
  const before = sink?.messages.length ?? 0;
  let last: MonthEndCloseResult | undefined;
  for (const m of months) {
    const started = Date.now();
    const r: MonthEndCloseResult = await client.workflow.execute('monthEndClose', {
      taskQueue,
      workflowId: workflowIds.monthEndClose('acme', m),
      args: [{ accountId: 'acme', month: m, asOf: new Date(asOfMs).toISOString() }],
    });
    last = r;
    log(
      `${m}: ${((Date.now() - started) / 1000).toFixed(1)} s, version ${r.close.version} (${r.close.status}), ` +
        `${r.close.outcome === 'created' ? 'new figures' : 'figures unchanged: nothing new to mail'}; ` +
        `mail: ${r.deliveries.map((x) => `${x.recipient} ${x.status}`).join(', ')}`,
    );
  }
  if (!last) return;
  const c = last.close;
  const dir = path.join(outputDir, 'month-end', 'acme', month, `v${c.version}`);
  log(
    `\nfiles of ${month}: ${dir}\n${last.files.map((f) => `  ${f.name} (${f.bytes.toLocaleString('en-US')} bytes)`).join('\n')}`,
  );
  const sent = sink ? sink.messages.slice(before) : [];
  if (sink)
    log(
      `${sent.length} message(s) received by the in-process SMTP server this run` +
        (sent.length ? ` (saved as .eml in ${path.dirname(sent[0]?.file ?? '')})` : ''),
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
): Promise<void> {
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
    const r: UsageEstimatesResult = await client.workflow.execute('usageEstimates', {
      taskQueue,
      workflowId: workflowIds.usageEstimates('acme', asOf),
      args: [{ accountId: 'acme', asOf }],
    });
    // The deliveries outlive the run (ABANDON); wait for them so that the mails are in before the next hour.
    await Promise.all(r.deliveries.map((x) => client.workflow.getHandle(`delivery/${x.id}`).result()));
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
