import { Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { applyAccountSpec } from '../db/accounts';
import { validateSpec } from '../domain/spec';
import { HOUR_MS } from '../domain/time';
import { startMailSink, type MailSink } from '../infra/mail-sink';
import { sleep } from '../infra/process';
import { EXAMPLE_SPEC } from './profiles';
import { sampleUsage, writeRecords } from '../scripts/lib/sample-data';
import type { BackfillResult } from '../workflows/backfill';
import type { IngestDropFolderResult } from '../workflows/ingest-drop-folder';
import type { FuzzFile } from './fuzz';
import { snapshotFiles, snapshotTables, type Snapshot } from './snapshot';
import { freshDatabase, WorkerProcess, type FaultStack } from './stack';
import { workflowIds } from '../domain/workflow-ids';
import { startWorkflow } from '../client/start';

/** One run of the main job — the drop folder, then a backfill of a month with its close — from empty. */
export interface MonthRange {
  month: string;
  from: string;
  to: string;
  fromMs: number;
  toMs: number;
}

/** What the faults get to act on while a run goes. */
export interface RunContext {
  name: string;
  db: Knex;
  dbName: string;
  worker: WorkerProcess;
  sink: MailSink;
  stack: FaultStack;
  /** Days attributed so far, read from the run's database (0 while it cannot be read). */
  attributedDays: () => Promise<number>;
}

export interface Phases {
  /** Started with the drop-folder run; ends when `done` resolves. */
  ingest?: (ctx: RunContext, done: Promise<void>) => Promise<void>;
  backfill?: (ctx: RunContext, done: Promise<void>) => Promise<void>;
}

export interface RunResult {
  snapshot: Snapshot;
  /** Mails received by the SMTP server: `<Message-ID> <recipient>` → how many times. */
  mails: Map<string, number>;
  /** Per input file: records written, and what ingest accounted for. */
  accounting: { file: string; written: number; read: number; accepted: number; quarantined: number }[];
  /** Workflows of the run's namespace that did not complete: `<id> <status>`. */
  unfinished: string[];
  /** Files still in the drop folder (anything but processed/). */
  dropLeft: string[];
  backfill: BackfillResult;
  seconds: number;
}

const MAIL_FROM = 'orgtally faults <billing@faults.example>';

/** Waits for a workflow's result across a restarting Temporal server (the client reconnects; the poll does not). */
async function resultOf<T>(handle: WorkflowHandle, deadlineMs: number): Promise<T> {
  for (;;) {
    try {
      return (await handle.result()) as T;
    } catch (err) {
      if (err instanceof WorkflowFailedError || Date.now() > deadlineMs) throw err;
      await sleep(500);
    }
  }
}

async function writeInputs(
  dropDir: string,
  month: MonthRange,
  fuzz: FuzzFile[],
): Promise<Map<string, number>> {
  const written = new Map<string, number>();
  for (let t = month.fromMs; t < month.toMs; t += 24 * HOUR_MS) {
    const name = `usage_${new Date(t).toISOString().slice(0, 10)}.ndjson`;
    written.set(
      name,
      await writeRecords(
        path.join(dropDir, name),
        sampleUsage({ fromMs: t, toMs: t + 24 * HOUR_MS }),
        'ndjson',
      ),
    );
  }
  for (const f of fuzz) {
    fs.writeFileSync(path.join(dropDir, `${f.name}.partial`), f.bytes);
    fs.renameSync(path.join(dropDir, `${f.name}.partial`), path.join(dropDir, f.name));
    written.set(f.name, f.records);
  }
  return written;
}

export async function runOnce(opts: {
  name: 'clean' | 'faulty';
  stack: FaultStack;
  workDir: string;
  month: MonthRange;
  asOf: string;
  fuzz: FuzzFile[];
  phases?: Phases;
  log: (line: string) => void;
}): Promise<RunResult> {
  const { name, stack, month, asOf, log } = opts;
  const started = Date.now();
  const deadline = started + 40 * 60_000;
  const namespace = `faults-${name}`;
  const dir = path.join(opts.workDir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  const outputDir = path.join(dir, 'out');
  const dropDir = path.join(dir, 'drop');
  fs.mkdirSync(dropDir, { recursive: true });
  const dbName = `orgtally_faults_${name}`;
  const url = stack.databaseUrl(dbName);
  const db = await freshDatabase(url);
  const sink = await startMailSink();
  // The native (Rust) connection, as the workers': it reconnects by itself once the server is back.
  const connection = await NativeConnection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection, namespace });
  const worker = new WorkerProcess(
    {
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: namespace,
      ORGTALLY_WORKFLOW_BUNDLE: stack.bundlePath,
      SMTP_URL: sink.url,
      MAIL_FROM,
      OUTPUT_DIR: outputDir,
      DROP_DIR: dropDir,
      INGEST_RETENTION_DAYS: '4000',
    },
    path.join(dir, 'worker.log'),
  );
  const ctx: RunContext = {
    name,
    db,
    dbName,
    worker,
    sink,
    stack,
    attributedDays: async () => {
      try {
        const r = await db('attribution_runs').whereNotNull('reconciled_at').count({ n: '*' });
        return Number(r[0]?.n ?? 0);
      } catch {
        return 0; // its sessions were just cut
      }
    },
  };
  try {
    const spec = validateSpec(EXAMPLE_SPEC());
    if (!spec.ok) throw new Error('examples/acme.json is not valid');
    await applyAccountSpec(db, spec.spec, { asOfMs: Date.parse(asOf) });
    const written = await writeInputs(dropDir, month, opts.fuzz);
    log(
      `${name}: ${written.size} files, ${[...written.values()].reduce((a, b) => a + b, 0).toLocaleString('en-US')} records in the drop folder`,
    );
    await worker.start();

    const phase = async <T>(run: () => Promise<T>, during?: Phases['ingest']): Promise<T> => {
      let finish: () => void = () => undefined;
      const done = new Promise<void>((r) => (finish = r));
      const faults = during ? during(ctx, done) : Promise.resolve();
      try {
        return await run();
      } finally {
        finish();
        await faults;
      }
    };
    const ingest = await phase(async () => {
      const handle = await startWorkflow(client, 'ingestDropFolder', {
        taskQueue: namespace,
        workflowId: workflowIds.ingestDropFolder(asOf),
        args: [{ asOf, retry: { maximumAttempts: 40, initialIntervalMs: 1_000 } }],
      });
      return resultOf<IngestDropFolderResult>(handle, deadline);
    }, opts.phases?.ingest);
    log(
      `${name}: drop folder ingested (${ingest.accepted.toLocaleString('en-US')} accepted, ${ingest.quarantined.toLocaleString('en-US')} quarantined)`,
    );
    const backfill = await phase(async () => {
      const handle = await startWorkflow(client, 'backfill', {
        taskQueue: namespace,
        workflowId: workflowIds.backfill('acme', month.from, month.to),
        args: [
          {
            accountId: 'acme',
            from: month.from,
            to: month.to,
            steps: ['attribution', 'month-end'],
            asOf,
            delivery: { initialRetryMs: 1_000, retryWindowMs: 30 * 60_000 },
          },
        ],
      });
      return resultOf<BackfillResult>(handle, deadline);
    }, opts.phases?.backfill);
    log(`${name}: backfill done (${backfill.done}/${backfill.total} units, ${backfill.failed} failed)`);
    await worker.stop();

    const batches: { source: string; records_read: number; accepted: number; quarantined: number }[] =
      await db('ingest_batches').select('source', 'records_read', 'accepted', 'quarantined');
    const byName = new Map(batches.map((b) => [path.basename(b.source), b]));
    const accounting = [...written].map(([file, n]) => {
      const b = byName.get(file);
      return {
        file,
        written: n,
        read: b?.records_read ?? 0,
        accepted: b?.accepted ?? 0,
        quarantined: b?.quarantined ?? 0,
      };
    });
    const unfinished: string[] = [];
    for await (const w of client.workflow.list({ query: 'ExecutionStatus != "Completed"' }))
      unfinished.push(`${w.workflowId} ${w.status.name}`);
    const mails = new Map<string, number>();
    for (const m of sink.messages) {
      const id = /^Message-ID:\s*(\S+)/im.exec(m.raw.toString())?.[1] ?? '?';
      for (const to of m.to) mails.set(`${id} ${to}`, (mails.get(`${id} ${to}`) ?? 0) + 1);
    }
    return {
      snapshot: { tables: await snapshotTables(db), files: snapshotFiles(outputDir, ['drop']) },
      mails,
      accounting,
      unfinished,
      dropLeft: fs.readdirSync(dropDir).filter((f) => f !== 'processed'),
      backfill,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await worker.kill();
    await sink.close();
    await connection.close();
    await db.destroy();
  }
}
