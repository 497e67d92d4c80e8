import { DefaultLogger, Runtime } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { applyAccountSpec } from '../db/accounts';
import { ensureDatabase, migrateLatest } from '../db/migrate';
import { validateSpec } from '../domain/spec';
import { DAY_MS } from '../domain/time';
import { loadConfig, PROJECT_ROOT } from '../infra/config';
import { createDb } from '../infra/db';
import { resolveEndpoints, stackDown, stackStatus, stackUp } from '../infra/stack';
import { connectClient } from '../infra/temporal';
import { createWorker } from '../worker/worker';

import { table } from './lib/output';
import { startMailSink } from '../infra/mail-sink';
import { accessPhase } from './demo/access';
import { consolePhase } from './demo/console';
import { sharesPhase } from './demo/shares';
import { backfillPhase } from './demo/backfill';
import { estimatesPhase } from './demo/estimates';
import { ingestPhase, writeSample } from './demo/ingest';
import { log, step } from './demo/log';
import { schedulesPhase } from './demo/schedules';
import { summary } from './demo/summary';
import type { Ran } from './demo/types';
import { loadedByOrg, quarantineByReason } from '../db/overview';

/**
 * The main job end to end on embedded defaults: local stack, example account, ~7 months of hourly sample usage
 * dropped into the drop folder and ingested by the ingestDropFolder workflow through a real worker; the account's
 * schedules applied (paused: the demo stays deterministic); the history recomputed by one backfill workflow
 * (attribution of every day, then every month's close with its trends and finance mail); estimates and alerts at
 * the hours an hourly schedule would have run; then where every output is. `--keep` leaves the stack running
 * (with its Web UI); otherwise what the demo started is stopped at the end.
 */
let interrupted = false;

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
    log(table(await loadedByOrg(db)));
    log(
      `\nquarantine by reason (see \`npm run orgtally -- quarantine list\`):\n${table(await quarantineByReason(db))}`,
    );
    log(`\nprocessed files: ${path.join(config.dropDir, 'processed')}`);

    const served = await accessPhase(db, config, keep);
    const consoleLines = await consolePhase(db, config, { port: served.port, keep });
    const shareLines = await sharesPhase(db, config, { port: served.port });

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
    step('Sign in to the console');
    log(consoleLines);
    log(shareLines);
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

main().catch((err: unknown) => {
  if (interrupted) return; // the SIGINT handler is stopping the stack and will exit
  console.error(`demo failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
