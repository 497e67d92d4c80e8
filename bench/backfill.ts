import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { MockActivityEnvironment } from '@temporalio/testing';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { createActivities, type Activities } from '../activities';
import { applyAccountSpec } from '../db/accounts';
import { ingestStream } from '../activities/ingest-file';
import { DEFAULT_FILE_MODES } from '../domain/file-modes';
import { ensureDatabase, migrateLatest } from '../db/migrate';
import { validateSpec } from '../domain/spec';
import { parseConfig, PROJECT_ROOT, type Config } from '../infra/config';
import { createDb } from '../infra/db';
import { startMailSink, type MailSink } from '../infra/mail-sink';
import { terminate } from '../infra/process';
import { connectClient } from '../infra/temporal';
import { startTemporalDevServer } from '../infra/temporal-dev';
import { ensureTemporalCli } from '../infra/tools';
import { sampleUsage } from '../scripts/lib/sample-data';
import { buildWorkflowBundle, createWorker } from '../worker/worker';
import { backfillPlan, type BackfillResult } from '../workflows/backfill';
import { cpuSeconds, median, postgresCpu, postmasterPid, timeIt, type BenchLine } from './lib';
import { workflowIds } from '../domain/workflow-ids';
import { startWorkflow } from '../client/start';

/**
 * The orchestration overhead of a backfill: the real `backfill` workflow on a Temporal dev server with an
 * in-process worker, against the same activities called directly in a loop (same order, same 4 lanes of days),
 * each from a fresh clone of the same database. Data: the sample account (examples/acme.json) with the demo's
 * sample usage for the whole range, ingested once into a template database.
 */

const ACCOUNT = 'acme';
/** 180 days from a month's first day; the close of the last month attributes its remaining day itself. */
const FROM = '2026-01-01';
/** The backfill's default lanes of days, and monthEndClose's (the backfill does not pass its own on). */
const CONCURRENCY = 4;
const MAIL_FROM = 'orgtally bench <billing@bench.example>';
const DAY_MS = 86_400_000;

export interface BackfillScale {
  days: number;
  runs: number;
  /**
   * Copies of the sample account's client orgs (default 1: the account as examples/acme.json has it). Copy k > 0
   * of org X is `X-k` under copy k of X's parent, with X's usage: each day about orgCopies times as large, the
   * same number of backfill units.
   */
  orgCopies?: number;
  /** Days attributed at once, both ways (default 4: the backfill's default). */
  concurrency?: number;
}

/** What a bench of this line needs running: a Temporal server, the workflow bundle, a mail sink, a client. */
export interface BackfillEnv {
  address: string;
  /** Set when the bench started the dev server itself: its pid (for CPU time) and how to stop it. */
  serverPid?: number;
  bundle: { code: string };
  client: Client;
  sink: MailSink;
  close: () => Promise<void>;
}

/**
 * TEMPORAL_ADDRESS when set, else a Temporal dev server of our own (in memory, headless; the CLI from
 * TEMPORAL_CLI, PATH or the project's .tools folder, as the tests' global setup finds it); the workflow bundle
 * built once; an in-process SMTP sink for the month-end mails.
 */
export async function startBackfillEnv(config: Config, log: (s: string) => void): Promise<BackfillEnv> {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already
  }
  let address = config.temporalAddress;
  let serverPid: number | undefined;
  if (!address) {
    const cli = await ensureTemporalCli({ explicit: config.temporalCli, toolsDir: config.toolsDir, log });
    fs.mkdirSync(config.homeDir, { recursive: true });
    const srv = await startTemporalDevServer({
      cli,
      ui: false,
      logFile: path.join(config.homeDir, 'bench-temporal.log'),
      detached: false,
      log,
    });
    address = srv.address;
    serverPid = srv.pid;
  }
  const t0 = Date.now();
  const { code } = await buildWorkflowBundle(log);
  log(`workflow bundle built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const client = await connectClient(address, config.temporalNamespace);
  const sink = await startMailSink();
  return {
    address,
    serverPid,
    bundle: { code },
    client,
    sink,
    close: async () => {
      await sink.close();
      await client.connection.close();
      if (serverPid) await terminate(serverPid);
    },
  };
}

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

/** The last day of the backfill and the last day of sample usage (the end of its last month). */
function range(days: number): { to: string; dataEnd: string; months: string[] } {
  const start = Date.parse(`${FROM}T00:00:00Z`);
  const to = new Date(start + (days - 1) * DAY_MS).toISOString().slice(0, 10);
  const last = new Date(`${to}T00:00:00Z`);
  const dataEnd = new Date(Date.UTC(last.getUTCFullYear(), last.getUTCMonth() + 1, 1)).toISOString();
  const months = [...new Set(backfillPlan({ from: FROM, to }).map((u) => u.key.slice(0, 7)))];
  return { to, dataEnd, months };
}

/**
 * The template database: migrated, the example account applied, the sample usage of every day of the range's
 * months ingested through ingestBatch (once: kept between benches, keyed by its range). Returns its name.
 */
async function prepareTemplate(
  benchUrl: string,
  days: number,
  copies: number,
  log: (s: string) => void,
): Promise<string> {
  const name = `${new URL(benchUrl).pathname.slice(1)}_backfill${copies > 1 ? `_x${copies}` : ''}`;
  const url = withDatabase(benchUrl, name);
  const { dataEnd } = range(days);
  const key = `bench-backfill-sample/${FROM}/${dataEnd.slice(0, 10)}/x${copies}`;
  await ensureDatabase(url);
  let db = createDb(url);
  try {
    await migrateLatest(db);
    if (await db('ingest_batches').where({ batch_key: key }).first()) return name;
    // Another range (or none yet): a new template from scratch.
    await db.destroy();
    const admin = knexFactory({
      client: 'pg',
      connection: withDatabase(benchUrl, 'postgres'),
      pool: { min: 0, max: 1 },
    });
    try {
      await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
    } finally {
      await admin.destroy();
    }
    await ensureDatabase(url);
    db = createDb(url);
    await migrateLatest(db);
    const spec = validateSpec(
      JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'examples', 'acme.json'), 'utf8')),
    );
    if (!spec.ok) throw new Error(`examples/acme.json: ${JSON.stringify(spec.issues)}`);
    const root = spec.spec.account.id;
    const copy = (id: string, k: number) => (k === 0 || id === root ? id : `${id}-${k}`);
    const orgs = spec.spec.orgs.flatMap((o) =>
      o.id === root
        ? [o]
        : Array.from({ length: copies }, (_, k) => ({
            ...o,
            id: copy(o.id, k),
            name: k ? `${o.name} ${k}` : o.name,
            ...(o.parent ? { parent: copy(o.parent, k) } : {}),
          })),
    );
    const asOfMs = Date.parse(dataEnd) + DAY_MS;
    await applyAccountSpec(db, { ...spec.spec, orgs }, { asOfMs });
    const records = sampleUsage({ fromMs: Date.parse(`${FROM}T00:00:00Z`), toMs: Date.parse(dataEnd) });
    async function* ndjson() {
      let buf = '';
      for (const r of records) {
        for (let k = 0; k < (r.org === root ? 1 : copies); k++)
          buf += `${JSON.stringify(k ? { ...r, org: copy(r.org, k) } : r)}\n`;
        if (buf.length > 1 << 16) {
          yield buf;
          buf = '';
        }
      }
      yield buf;
    }
    const t0 = Date.now();
    const r = await ingestStream(db, {
      source: 'bench-backfill.ndjson',
      stream: Readable.from(ndjson()),
      format: 'ndjson',
      batchId: key,
      asOfMs,
      retentionDays: 400,
    });
    if (r.quarantined) throw new Error(`sample usage: ${r.quarantined} records quarantined`);
    await db.raw('VACUUM ANALYZE');
    log(
      `backfill data: ${r.accepted.toLocaleString('en-US')} sample records (${FROM} to ${dataEnd.slice(0, 10)} exclusive) ` +
        `ingested into a template database ${name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  } finally {
    await db.destroy();
  }
  return name;
}

/** A fresh copy of the template; `drop` removes it. */
async function cloneDatabase(
  benchUrl: string,
  template: string,
): Promise<{ db: Knex; drop: () => Promise<void> }> {
  const name = `${template}_run`;
  const admin = knexFactory({
    client: 'pg',
    connection: withDatabase(benchUrl, 'postgres'),
    pool: { min: 0, max: 1 },
  });
  await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
  await admin.raw('CREATE DATABASE ?? TEMPLATE ??', [name, template]);
  const db = createDb(withDatabase(benchUrl, name));
  return {
    db,
    drop: async () => {
      await db.destroy();
      await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      await admin.destroy();
    },
  };
}

/** Every stored figure, in a stable order, without timestamps (as test/workflow/backfill.test.ts compares them). */
async function figures(db: Knex): Promise<Record<string, string>> {
  const q = async (sql: string) =>
    (await db.raw(`SELECT md5(string_agg(r::text, ';' ORDER BY r::text)) AS h FROM (${sql}) r`)).rows[0]
      .h as string;
  const { rows } = await db.raw(
    `SELECT sum(hourly_rows) AS n, sum(rows_total) AS total FROM attribution_totals`,
  );
  const { rows: d } = await db.raw(
    `SELECT status, count(*) AS n FROM deliveries GROUP BY status ORDER BY status`,
  );
  return {
    hourly: `${rows[0].n} rows, Σ ${rows[0].total}`,
    daily: await q('SELECT account_id, day, org_id, product_id, cells, total_usage FROM attribution_daily'),
    runs: await q('SELECT day, tag_keys, facts, hourly_rows, daily_rows, files FROM attribution_runs'),
    versions: await q('SELECT month, version, status, checksum, hours FROM month_end_versions'),
    totals: await q('SELECT * FROM month_end_totals'),
    orgs: await q('SELECT * FROM month_end_orgs'),
    tags: await q('SELECT * FROM month_end_tags'),
    trends: await q(
      'SELECT account_id, month, scope, public_id, usage_type, view, "values", mom_abs, six_abs FROM trends',
    ),
    deliveries: (d as { status: string; n: string }[]).map((r) => `${r.n} ${r.status}`).join(', '),
  };
}

/** Σ and count of time per activity name. */
type Timings = Record<string, { n: number; ms: number }>;
const add = (t: Timings, name: string, ms: number) => {
  const x = (t[name] ??= { n: 0, ms: 0 });
  x.n++;
  x.ms += ms;
};

/**
 * The backfill without Temporal: the workflow's activities (createActivities, the worker's own) called in a loop,
 * each in a mock activity context (heartbeats go nowhere). Days in `concurrency` lanes (dailyAttribution: attribute,
 * export, reconcile); then each month in order as monthEndClose does it: the days it still needs (in lanes), the
 * close, its trends, the files, the delivery plan and the mails (in parallel, as the child workflows run).
 */
async function directBackfill(
  acts: Activities,
  to: string,
  concurrency: number,
): Promise<{ timings: Timings; daysMs: number; monthsMs: number; units: number }> {
  const timings: Timings = {};
  const call = async <A, R>(name: string, fn: (a: A) => Promise<R>, arg: A): Promise<R> => {
    const env = new MockActivityEnvironment({ activityType: name }, { logger: new DefaultLogger('WARN') });
    const t = process.hrtime.bigint();
    try {
      return await env.run(fn, arg);
    } finally {
      add(timings, name, Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  const dailyAttribution = async (day: string) => {
    const input = { accountId: ACCOUNT, day };
    // One activity writes and checks the day's files too, as the workflow runs it.
    await call('attributeDay', acts.attributeDay, input);
  };
  const lanes = async (days: string[], n: number) => {
    const queue = [...days];
    const lane = async () => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) await dailyAttribution(d);
    };
    await Promise.all(Array.from({ length: n }, lane));
  };
  const t0 = process.hrtime.bigint();
  // As the workflow: months that have not ended at its start are not closed.
  const clock = await call('accountClock', acts.accountClock, {
    accountId: ACCOUNT,
    at: new Date().toISOString(),
  });
  const plan = backfillPlan({ from: FROM, to }, clock.previousMonth);
  await lanes(
    plan.filter((u) => u.step === 'attribution').map((u) => u.key),
    concurrency,
  );
  const t1 = process.hrtime.bigint();
  for (const u of plan.filter((x) => x.step === 'month-end')) {
    const month = u.key;
    const asOf = new Date().toISOString();
    let close: Awaited<ReturnType<Activities['closeMonth']>> | undefined;
    for (let round = 1; round <= 5; round++) {
      const { toAttribute } = await call('monthDays', acts.monthDays, { accountId: ACCOUNT, month });
      await lanes(toAttribute, CONCURRENCY);
      close = await call('closeMonth', acts.closeMonth, { accountId: ACCOUNT, month, asOf });
      if (close.outcome !== 'incomplete') break;
    }
    if (!close || close.outcome === 'incomplete') throw new Error(`${month}: still incomplete`);
    await call('computeTrends', acts.computeTrends, { accountId: ACCOUNT, month });
    const ref = { accountId: ACCOUNT, month, version: close.version };
    await call('renderMonthEnd', acts.renderMonthEnd, ref);
    const planned = await call('planMonthEndDeliveries', acts.planMonthEndDeliveries, ref);
    await Promise.all(
      planned
        .filter((d) => d.status !== 'sent')
        .map((d) => call('sendDelivery', acts.sendDelivery, { deliveryId: d.id })),
    );
    // Then each client's statement, as monthEndClose sends them after the finance mails.
    const statements = await call('planStatementDeliveries', acts.planStatementDeliveries, ref);
    await Promise.all(
      statements
        .filter((d) => d.status !== 'sent')
        .map((d) => call('sendDelivery', acts.sendDelivery, { deliveryId: d.id })),
    );
  }
  const t2 = process.hrtime.bigint();
  return {
    timings,
    daysMs: Number(t1 - t0) / 1e6,
    monthsMs: Number(t2 - t1) / 1e6,
    units: plan.length,
  };
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const at = (e: HistoryEvent) => tsToMs(e.eventTime);
const num = (x: unknown) => Number(x);

/** Where one workflow run's time went, its children's included (summed over them). */
interface Breakdown {
  workflows: number;
  activities: number;
  /** Σ over activities: started → completed (the activity's own work, as the worker ran it). */
  activityExecMs: number;
  /** Σ over activities: scheduled → started (task queue, poller, dispatch). */
  activityQueueMs: number;
  workflowTasks: number;
  /** Σ over workflow tasks: scheduled → completed. */
  workflowTaskMs: number;
  /** Σ over workflow tasks: scheduled → started (the part before the worker has it). */
  workflowTaskQueueMs: number;
  /** Σ over child workflows: start initiated by the parent → the child's first event. */
  childStartMs: number;
  /** Σ over child workflows: child closed → the parent's completion event. */
  childNotifyMs: number;
  perActivity: Timings;
}

const emptyBreakdown = (): Breakdown => ({
  workflows: 0,
  activities: 0,
  activityExecMs: 0,
  activityQueueMs: 0,
  workflowTasks: 0,
  workflowTaskMs: 0,
  workflowTaskQueueMs: 0,
  childStartMs: 0,
  childNotifyMs: 0,
  perActivity: {},
});

function merge(into: Breakdown, b: Breakdown): void {
  into.workflows += b.workflows;
  into.activities += b.activities;
  into.activityExecMs += b.activityExecMs;
  into.activityQueueMs += b.activityQueueMs;
  into.workflowTasks += b.workflowTasks;
  into.workflowTaskMs += b.workflowTaskMs;
  into.workflowTaskQueueMs += b.workflowTaskQueueMs;
  into.childStartMs += b.childStartMs;
  into.childNotifyMs += b.childNotifyMs;
  for (const [k, v] of Object.entries(b.perActivity)) {
    const x = (into.perActivity[k] ??= { n: 0, ms: 0 });
    x.n += v.n;
    x.ms += v.ms;
  }
}

interface ChildSpan {
  type: string;
  initiated: number;
  completed: number;
  breakdown: Breakdown;
}

/**
 * Reads a run's history (and its children's, recursively): activity execution and queueing, workflow task time,
 * child start and completion latency. Returns the run's own breakdown (children summed in), its direct children's
 * spans, its start and close times and the run it continued as, if any.
 */
async function analyse(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<{ b: Breakdown; children: ChildSpan[]; start: number; end: number; next?: string }> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const byId = new Map<number, HistoryEvent>(events.map((e) => [num(e.eventId), e]));
  const b = emptyBreakdown();
  b.workflows = 1;
  const children: ChildSpan[] = [];
  const childClosed = new Map<number, number>();
  const childRuns: {
    initiatedId: number;
    type: string;
    workflowId: string;
    runId: string;
    started: number;
  }[] = [];
  let next: string | undefined;
  for (const e of events) {
    const activityDone = e.activityTaskCompletedEventAttributes;
    if (activityDone) {
      const started = byId.get(num(activityDone.startedEventId));
      const scheduled = byId.get(num(activityDone.scheduledEventId));
      if (started && scheduled) {
        const exec = at(e) - at(started);
        b.activities++;
        b.activityExecMs += exec;
        b.activityQueueMs += at(started) - at(scheduled);
        add(b.perActivity, scheduled.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', exec);
      }
    }
    const wftDone = e.workflowTaskCompletedEventAttributes;
    if (wftDone) {
      const scheduled = byId.get(num(wftDone.scheduledEventId));
      const started = byId.get(num(wftDone.startedEventId));
      b.workflowTasks++;
      if (scheduled) b.workflowTaskMs += at(e) - at(scheduled);
      if (scheduled && started) b.workflowTaskQueueMs += at(started) - at(scheduled);
    }
    const childStarted = e.childWorkflowExecutionStartedEventAttributes;
    if (childStarted) {
      childRuns.push({
        initiatedId: num(childStarted.initiatedEventId),
        type: childStarted.workflowType?.name ?? '?',
        workflowId: childStarted.workflowExecution?.workflowId ?? '',
        runId: childStarted.workflowExecution?.runId ?? '',
        started: at(e),
      });
    }
    const childDone = e.childWorkflowExecutionCompletedEventAttributes;
    if (childDone) childClosed.set(num(childDone.initiatedEventId), at(e));
    const can = e.workflowExecutionContinuedAsNewEventAttributes;
    if (can) next = can.newExecutionRunId ?? undefined;
  }
  for (const c of childRuns) {
    const sub = await analyse(client, c.workflowId, c.runId);
    const closedInParent = childClosed.get(c.initiatedId) ?? sub.end;
    const initiated = byId.get(c.initiatedId);
    sub.b.childNotifyMs += closedInParent - sub.end;
    if (initiated) sub.b.childStartMs += sub.start - at(initiated);
    merge(b, sub.b);
    children.push({
      type: c.type,
      initiated: initiated ? at(initiated) : c.started,
      completed: closedInParent,
      breakdown: sub.b,
    });
  }
  const first = events[0];
  const last = events[events.length - 1];
  return { b, children, start: first ? at(first) : 0, end: last ? at(last) : 0, next };
}

interface Cpu {
  /** This process: the bench, the worker and the mail sink. */
  node: number;
  temporal?: number;
  postgres?: number;
}

function cpuNow(serverPid: number | undefined, postmaster: number | undefined): Cpu {
  const u = process.cpuUsage();
  return {
    node: (u.user + u.system) / 1e6,
    temporal: serverPid ? cpuSeconds(serverPid) : undefined,
    postgres: postgresCpu(postmaster),
  };
}

function cpuSince(a: Cpu, b: Cpu): Cpu {
  const d = (x?: number, y?: number) => (x !== undefined && y !== undefined ? y - x : undefined);
  return { node: b.node - a.node, temporal: d(a.temporal, b.temporal), postgres: d(a.postgres, b.postgres) };
}

const cpuText = (c: Cpu, ms: number) =>
  `CPU s: node ${c.node.toFixed(1)}, Postgres ${c.postgres?.toFixed(1) ?? '?'}` +
  `${c.temporal !== undefined ? `, Temporal server ${c.temporal.toFixed(1)}` : ''}` +
  ` = ${(((c.node + (c.postgres ?? 0) + (c.temporal ?? 0)) / (ms / 1000)) * 100).toFixed(0)} % of one core`;

interface TemporalRun {
  ms: number;
  result: BackfillResult;
  days: { n: number; spanMs: number; b: Breakdown; phaseMs: number };
  months: { n: number; spanMs: number; b: Breakdown; phaseMs: number };
  /** The backfill workflow's own workflow tasks (children excluded). */
  parent: { workflowTasks: number; workflowTaskMs: number; workflowTaskQueueMs: number };
  runs: number;
  cpu: Cpu;
}

/**
 * Activities that do nothing and answer what the workflows expect (every month a new version with two finance
 * recipients to mail): the backfill through Temporal with these is orchestration alone.
 */
function noopActivities(): Partial<Activities> {
  const tag = randomBytes(4).toString('hex');
  const version = { version: 1, status: 'final', checksum: '', dataCompleteThrough: '', computedAt: '' };
  const stub: Record<string, (input: never) => Promise<unknown>> = {
    accountClock: async (i: { at: string }) => {
      const at = new Date(i.at);
      const previous = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 1));
      return { previousMonth: previous.toISOString().slice(0, 7), pendingDays: [] };
    },
    attributeDay: async () => ({ facts: 0, hourlyRows: 0, files: [] }),
    exportDay: async () => [],
    reconcileDay: async () => ({ checkedFiles: 0, checkedRows: 0 }),
    monthDays: async () => ({ days: [], toAttribute: [] }),
    closeMonth: async (i: { accountId: string; month: string }) => ({
      ...i,
      ...version,
      outcome: 'created',
      previousVersion: null,
    }),
    computeTrends: async () => ({}),
    renderMonthEnd: async () => ({ dir: '', files: [] }),
    planMonthEndDeliveries: async (r: { month: string }) =>
      ['a', 'b'].map((x) => ({ id: `noop-${tag}-${r.month}-${x}`, recipient: x, status: 'pending' })),
    planStatementDeliveries: async () => [],
    sendDelivery: async (i: { deliveryId: string }) => ({ id: i.deliveryId, status: 'sent' }),
  };
  return stub as unknown as Partial<Activities>;
}

async function temporalBackfill(
  env: BackfillEnv,
  db: Knex,
  config: Config,
  to: string,
  concurrency: number,
  outputDir: string,
  opts: { noop?: boolean } = {},
): Promise<TemporalRun> {
  const taskQueue = `bench-${randomBytes(4).toString('hex')}`;
  const workerConfig = parseConfig({
    ...process.env,
    TEMPORAL_TASK_QUEUE: taskQueue,
    OUTPUT_DIR: outputDir,
    MAIL_FROM,
    TEMPORAL_NAMESPACE: config.temporalNamespace,
  });
  const { worker, connection } = await createWorker({
    config: workerConfig,
    temporalAddress: env.address,
    db,
    workflowBundle: env.bundle,
    smtpUrl: env.sink.url,
    ...(opts.noop ? { overrides: { activities: noopActivities() } } : {}),
  });
  let handle: WorkflowHandleWithFirstExecutionRunId | undefined;
  let ms = 0;
  let result: BackfillResult | undefined;
  const postmaster = await postmasterPid(db);
  const cpu0 = cpuNow(env.serverPid, postmaster);
  let cpu1 = cpu0;
  try {
    await worker.runUntil(async () => {
      await waitRunning(worker);
      ms = await timeIt(async () => {
        handle = await startWorkflow(env.client, 'backfill', {
          taskQueue,
          workflowId: workflowIds.backfill(ACCOUNT, FROM, to),
          args: [{ accountId: ACCOUNT, from: FROM, to, concurrency }],
        });
        result = (await handle.result()) as BackfillResult;
      });
      cpu1 = cpuNow(env.serverPid, postmaster);
    });
  } finally {
    await connection.close();
  }
  if (!handle || !result) throw new Error('backfill did not run');
  if (result.failed) throw new Error(`backfill failed units: ${JSON.stringify(result.failures)}`);
  // Each continue-as-new run: its children (days, then months) and its own workflow tasks.
  const days = { n: 0, spanMs: 0, b: emptyBreakdown(), phaseMs: 0 };
  const months = { n: 0, spanMs: 0, b: emptyBreakdown(), phaseMs: 0 };
  const parent = { workflowTasks: 0, workflowTaskMs: 0, workflowTaskQueueMs: 0 };
  let runs = 0;
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    const r = await analyse(env.client, handle.workflowId, runId);
    runs++;
    parent.workflowTasks += r.b.workflowTasks;
    parent.workflowTaskMs += r.b.workflowTaskMs;
    parent.workflowTaskQueueMs += r.b.workflowTaskQueueMs;
    for (const c of r.children) {
      parent.workflowTasks -= c.breakdown.workflowTasks;
      parent.workflowTaskMs -= c.breakdown.workflowTaskMs;
      parent.workflowTaskQueueMs -= c.breakdown.workflowTaskQueueMs;
    }
    for (const kind of ['dailyAttribution', 'monthEndClose'] as const) {
      const cs = r.children.filter((c) => c.type === kind);
      if (!cs.length) continue;
      const into = kind === 'dailyAttribution' ? days : months;
      into.n += cs.length;
      for (const c of cs) {
        into.spanMs += c.completed - c.initiated;
        merge(into.b, c.breakdown);
      }
      // From the run's start (the first child's start is decided in its first workflow task) to the last close.
      into.phaseMs +=
        Math.max(...cs.map((c) => c.completed)) -
        (kind === 'dailyAttribution' ? r.start : Math.min(...cs.map((c) => c.initiated)));
    }
    // Days as local activities of the backfill (no children): the run's start to its first month, or its end.
    if (!r.children.some((c) => c.type === 'dailyAttribution')) {
      const firstMonth = r.children.filter((c) => c.type === 'monthEndClose').map((c) => c.initiated);
      const end = firstMonth.length ? Math.min(...firstMonth) : r.end;
      if (end > r.start) days.phaseMs += end - r.start;
    }
    runId = r.next;
  }
  return {
    ms,
    result,
    days,
    months,
    parent,
    runs,
    cpu: cpuSince(cpu0, cpu1),
  };
}

async function waitRunning(worker: Worker): Promise<void> {
  while (worker.getState() !== 'RUNNING') await new Promise((r) => setTimeout(r, 10));
}

const f0 = (ms: number) => ms.toFixed(0);
const per = (ms: number, n: number) => (n ? (ms / n).toFixed(1) : '—');

/** Where a backfill run's time went, per day and per month, from its histories. */
function describe(r: TemporalRun, lanes: number): string[] {
  const b = r.days.b;
  const n = r.days.n;
  const m = r.months;
  const all = emptyBreakdown();
  merge(all, r.days.b);
  merge(all, r.months.b);
  const other =
    r.days.spanMs -
    b.activityExecMs -
    b.childStartMs -
    b.workflowTaskMs -
    b.activityQueueMs -
    b.childNotifyMs;
  return [
    `per day (${n} dailyAttribution children, ${lanes} lanes): lane time ${per(r.days.phaseMs * lanes, n)} ms = ` +
      `child span ${per(r.days.spanMs, n)} + between children ${per(r.days.phaseMs * lanes - r.days.spanMs, n)}; ` +
      `span = activities ${per(b.activityExecMs, n)} + child start ${per(b.childStartMs, n)} ` +
      `+ ${per(b.workflowTasks, n)} workflow tasks ${per(b.workflowTaskMs, n)} (queued ${per(b.workflowTaskQueueMs, n)}) ` +
      `+ activity schedule→start ${per(b.activityQueueMs, n)} + close→parent ${per(b.childNotifyMs, n)} + other ${per(other, n)}`,
    `backfill's own ${r.parent.workflowTasks} workflow tasks: ${f0(r.parent.workflowTaskMs)} ms ` +
      `(${per(r.parent.workflowTaskMs, r.parent.workflowTasks)} each, queued ${per(r.parent.workflowTaskQueueMs, r.parent.workflowTasks)})`,
    `per month (${m.n} monthEndClose children, ${m.b.workflows} workflows in all, ${m.b.workflowTasks} workflow tasks): ` +
      `span ${per(m.spanMs, m.n)} ms = activities ${per(m.b.activityExecMs, m.n)} + orchestration ${per(m.spanMs - m.b.activityExecMs, m.n)}`,
    `ms per activity (started → completed): ${Object.entries(all.perActivity)
      .map(([k, v]) => `${k} ${v.n}× ${per(v.ms, v.n)}`)
      .join(', ')}`,
  ];
}

/**
 * A `days`-day backfill of the sample account, `runs` times each way, alternating, each from a fresh clone of the
 * template: the `backfill` workflow through Temporal (figure) against the activities called directly (floor).
 * Throws unless every run leaves the same figures and mails the same number of messages. rows = backfill units
 * (days + months).
 */
export async function benchBackfill(
  benchUrl: string,
  config: Config,
  scale: BackfillScale,
  opts: {
    workDir: string;
    log: (s: string) => void;
  },
): Promise<BenchLine> {
  const { log } = opts;
  const { to, months } = range(scale.days);
  const lanes = scale.concurrency ?? CONCURRENCY;
  const copies = scale.orgCopies ?? 1;
  const template = await prepareTemplate(benchUrl, scale.days, copies, log);
  const env = await startBackfillEnv(config, log);
  try {
    const runs: number[] = [];
    const floors: number[] = [];
    let reference: Record<string, string> | undefined;
    let units = 0;
    const details: Record<string, unknown>[] = [];
    const check = (what: string, got: Record<string, string>) => {
      reference ??= got;
      const diff = Object.keys(reference).filter((k) => reference?.[k] !== got[k]);
      if (diff.length)
        throw new Error(
          `${what} left other rows than the first run: ${diff.map((k) => `${k} ${got[k]} ≠ ${reference?.[k]}`).join('; ')}`,
        );
    };
    const callText = (t: Timings) =>
      Object.entries(t)
        .map(([k, v]) => `${k} ${v.n}× ${per(v.ms, v.n)}`)
        .join(', ');
    for (let i = 0; i < scale.runs; i++) {
      // Floor: the activities called directly.
      {
        const outputDir = path.join(opts.workDir, 'backfill', 'direct');
        fs.rmSync(outputDir, { recursive: true, force: true });
        const clone = await cloneDatabase(benchUrl, template);
        try {
          const acts = createActivities({
            db: clone.db,
            dropDir: path.join(outputDir, 'drop'),
            outputDir,
            retentionDays: 400,
            fileModes: DEFAULT_FILE_MODES,
            smtpUrl: env.sink.url,
            mailFrom: MAIL_FROM,
          });
          const mails = env.sink.messages.length;
          const postmaster = await postmasterPid(clone.db);
          const cpu0 = cpuNow(undefined, postmaster);
          let d: Awaited<ReturnType<typeof directBackfill>> | undefined;
          floors.push(await timeIt(async () => (d = await directBackfill(acts, to, lanes))));
          const cpu = cpuSince(cpu0, cpuNow(undefined, postmaster));
          if (!d) throw new Error('no direct run');
          units = d.units;
          const got = await figures(clone.db);
          check('the direct loop', { ...got, mails: String(env.sink.messages.length - mails) });
          const ms = floors[i] as number;
          log(
            `  run ${i + 1}: direct ${f0(ms)} ms (days ${f0(d.daysMs)}, months ${f0(d.monthsMs)}; ${cpuText(cpu, ms)}); ` +
              `${env.sink.messages.length - mails} mails; per day: lane time ${per(d.daysMs * lanes, scale.days)} ms`,
          );
          log(`    ms per call: ${callText(d.timings)}`);
          details.push({
            run: i + 1,
            mode: 'direct',
            ms,
            daysMs: d.daysMs,
            monthsMs: d.monthsMs,
            cpu,
            timings: d.timings,
          });
        } finally {
          await clone.drop();
        }
      }
      // Figure: the backfill workflow.
      {
        const outputDir = path.join(opts.workDir, 'backfill', 'temporal');
        fs.rmSync(outputDir, { recursive: true, force: true });
        const clone = await cloneDatabase(benchUrl, template);
        try {
          const mails = env.sink.messages.length;
          const r = await temporalBackfill(env, clone.db, config, to, lanes, outputDir);
          runs.push(r.ms);
          const got = await figures(clone.db);
          check('the backfill workflow', { ...got, mails: String(env.sink.messages.length - mails) });
          if (r.result.done !== units) throw new Error(`backfill did ${r.result.done} of ${units} units`);
          log(
            `  run ${i + 1}: backfill workflow ${f0(r.ms)} ms (${r.runs} runs; days ${f0(r.days.phaseMs)}, months ${f0(r.months.phaseMs)}; ` +
              `${cpuText(r.cpu, r.ms)}); ${env.sink.messages.length - mails} mails, same rows as the direct loop`,
          );
          for (const line of describe(r, lanes)) log(`    ${line}`);
          details.push({
            run: i + 1,
            mode: 'temporal',
            ms: r.ms,
            backfillRuns: r.runs,
            days: r.days,
            months: r.months,
            parent: r.parent,
            cpu: r.cpu,
          });
        } finally {
          await clone.drop();
        }
      }
    }
    // Orchestration alone: the same backfill through Temporal with activities that do nothing.
    let noop: TemporalRun | undefined;
    {
      const db = createDb(benchUrl, { max: 2 });
      try {
        noop = await temporalBackfill(
          env,
          db,
          config,
          to,
          lanes,
          path.join(opts.workDir, 'backfill', 'noop'),
          {
            noop: true,
          },
        );
      } finally {
        await db.destroy();
      }
      if (noop.result.done !== units)
        throw new Error(`no-op backfill did ${noop.result.done} of ${units} units`);
      log(
        `  orchestration alone (the backfill workflow, no-op activities): ${f0(noop.ms)} ms (days ${f0(noop.days.phaseMs)}, ` +
          `months ${f0(noop.months.phaseMs)}; ${cpuText(noop.cpu, noop.ms)})`,
      );
      for (const line of describe(noop, lanes)) log(`    ${line}`);
      details.push({
        mode: 'temporal, no-op activities',
        ms: noop.ms,
        days: noop.days,
        months: noop.months,
        parent: noop.parent,
        cpu: noop.cpu,
      });
    }
    const figure = median(runs);
    const floor = median(floors);
    return {
      path: `backfill (${scale.days} days + ${months.length} months${copies > 1 ? `, ${copies}× orgs` : ''}, ${lanes} lanes; Temporal vs direct)`,
      rows: units,
      unit: 'ms',
      figure,
      floor,
      ratio: figure / floor,
      rows_per_s: Math.round((units / figure) * 1000 * 100) / 100,
      runs,
      floor_runs: floors,
      details: {
        account: ACCOUNT,
        org_copies: copies,
        from: FROM,
        to,
        concurrency: lanes,
        figures: reference,
        noop_ms: noop?.ms,
        runs: details,
      },
    };
  } finally {
    await env.close();
    fs.rmSync(path.join(opts.workDir, 'backfill'), { recursive: true, force: true });
  }
}
