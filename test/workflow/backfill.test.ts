import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, randomInt } from 'node:crypto';
import path from 'node:path';
import { ingestFile } from '../../activities/ingest-file';
import { attributeDay } from '../../db/attribution';
import { previewBackfill } from '../../db/backfill';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { computeTrends } from '../../db/trends';
import { HOUR_MS, isoHour } from '../../domain/time';
import { PROJECT_ROOT } from '../../infra/config';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import { progressQuery, type BackfillProgress, type BackfillResult } from '../../workflows/backfill';
import { cloneTestDatabase } from '../support/db';
import { applyExample, rec, tempDir, TEST_AS_OF, writeFile } from '../support/fixtures';
import { recordHistory, spawnWorkerProcess, testClient, testTemporal, testWorker } from '../support/temporal';

/** Two databases with the same facts: one recomputed by the backfill workflow, one by calling the steps by hand. */
let a: { db: Knex; url: string; drop: () => Promise<void> };
let b: { db: Knex; url: string; drop: () => Promise<void> };
let client: Client;
let closeClient: () => Promise<void>;
let sink: MailSink;
const MAIL_FROM = 'orgtally <billing@orgtally.test>';
const FROM = '2026-08-01';
const TO = '2026-09-29'; // 60 days, two months (the close of September attributes 09-30 itself)

function usage(): string[] {
  const lines: string[] = [];
  for (let h = Date.parse('2026-08-01T00:00:00Z'); h < Date.parse('2026-10-01T00:00:00Z'); h += HOUR_MS) {
    const t = isoHour(h);
    const k = (h / HOUR_MS) % 7;
    lines.push(rec(t, 'client-a', 'logs_ingested_bytes', `${1 + k / 10}`, ['team:web', 'env:prod']));
    lines.push(rec(t, 'client-a', 'infra_hosts', 30 + k, ['team:web']));
    lines.push(rec(t, 'client-b', 'infra_hosts', 12, ['team:data']));
    lines.push(rec(t, 'client-c', 'apm_ingested_bytes', `${2 + k}`, []));
  }
  return lines;
}

let n = 0;
async function load(db: Knex, lines: string[], replace = false) {
  await ingestFile(db, {
    path: writeFile(tempDir('backfill'), `f${++n}.ndjson`, lines),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
    ...(replace ? { replace } : {}),
  });
}

beforeAll(async () => {
  a = await cloneTestDatabase();
  b = await cloneTestDatabase();
  for (const x of [a, b]) {
    await applyExample(x.db);
    await load(x.db, usage());
  }
  // Delivery workflow ids are `delivery/<ledger id>` on a namespace other test files share.
  await a.db.raw(`ALTER SEQUENCE deliveries_id_seq RESTART WITH ${randomInt(1_000_000, 1_000_000_000)}`);
  ({ client, close: closeClient } = await testClient());
  sink = await startMailSink();
}, 60_000);
afterAll(async () => {
  await sink.close();
  await closeClient();
  await a.drop();
  await b.drop();
});

/** Every stored figure, in a stable order, without timestamps: equal means the same rows. */
async function figures(db: Knex): Promise<Record<string, string>> {
  const q = async (sql: string) =>
    (await db.raw(`SELECT md5(string_agg(r::text, ';' ORDER BY r::text)) AS h FROM (${sql}) r`)).rows[0].h;
  return {
    cells: await q('SELECT account_id, day, tag_set_id, combo, cells FROM attribution_cells'),
    attributed: await q('SELECT * FROM attribution_totals'),
    daily: await q('SELECT account_id, day, org_id, product_id, cells, total_usage FROM attribution_daily'),
    runs: await q('SELECT day, tag_keys, facts, hourly_rows, daily_rows FROM attribution_runs'),
    versions: await q('SELECT month, version, status, checksum, hours FROM month_end_versions'),
    totals: await q('SELECT * FROM month_end_totals'),
    orgs: await q('SELECT * FROM month_end_orgs'),
    tags: await q('SELECT * FROM month_end_tags'),
    trends: await q(
      'SELECT account_id, month, scope, public_id, usage_type, view, "values", mom_abs, six_abs FROM trends',
    ),
  };
}

/** By hand: each day, then each month's close (with the days it attributes first) and its trends. */
async function byHand(db: Knex): Promise<void> {
  for (let t = Date.parse(`${FROM}T00:00:00Z`); t <= Date.parse(`${TO}T00:00:00Z`); t += 86_400_000)
    await attributeDay(db, { accountId: 'acme', day: new Date(t).toISOString().slice(0, 10) });
  for (const month of ['2026-08', '2026-09']) {
    for (const day of (await monthDays(db, 'acme', month)).toAttribute)
      await attributeDay(db, { accountId: 'acme', day });
    await closeMonth(db, { accountId: 'acme', month, asOf: new Date().toISOString() });
    await computeTrends(db, { accountId: 'acme', month });
  }
}

const counts = async (db: Knex) =>
  (
    await db.raw(`SELECT (SELECT count(*) FROM attribution_daily) AS daily, (SELECT count(*) FROM attribution_runs) AS runs,
                         (SELECT count(*) FROM month_end_versions) AS versions, (SELECT count(*) FROM deliveries) AS ledger,
                         (SELECT count(*) FROM trend_runs) AS trends, (SELECT count(*) FROM attribution_pending) AS pending`)
  ).rows[0];

async function runBackfill(
  workflowId: string,
  opts: { chunk?: number; onProgress?: (p: BackfillProgress) => void } = {},
): Promise<BackfillResult> {
  const { worker, taskQueue, close } = await testWorker(a.db, { SMTP_URL: sink.url, MAIL_FROM });
  try {
    return await worker.runUntil(async () => {
      const handle = await client.workflow.start('backfill', {
        taskQueue,
        workflowId,
        args: [{ accountId: 'acme', from: FROM, to: TO, concurrency: 4, chunk: opts.chunk ?? 25 }],
      });
      let finished = false;
      const result = handle.result().finally(() => (finished = true));
      while (!finished) {
        const p = await handle.query(progressQuery).catch(() => undefined);
        if (p) opts.onProgress?.(p);
        await new Promise((r) => setTimeout(r, 50));
      }
      return result;
    });
  } finally {
    await close();
  }
}

/** The dry run of the tests' range, as `orgtally backfill --dry-run` computes it now. */
const preview = () =>
  previewBackfill(a.db, {
    accountId: 'acme',
    from: FROM,
    to: TO,
    steps: ['attribution', 'month-end'],
    asOf: new Date().toISOString(),
  });

describe('backfill on a real Temporal server', () => {
  it('dry run: says what would be recomputed and mailed, and writes nothing', async () => {
    const before = await counts(a.db);
    const p = await preview();
    expect(p.days).toHaveLength(60);
    expect(p.days.every((d) => d.state === 'never attributed' && d.wouldChange)).toBe(true);
    expect(p.outsideDays).toEqual(['2026-09-30']);
    expect(p.months.map((m) => [m.month, m.current, m.outcome, m.newVersion, m.mailTo.length])).toEqual([
      ['2026-08', null, 'created', 1, 2],
      ['2026-09', null, 'created', 1, 2],
    ]);
    expect(await counts(a.db)).toEqual(before);
  });

  it('60 days and 2 months, concurrency 4, continuing as new: the same rows as by hand; progress only grows', async () => {
    const seen: number[] = [];
    const r = await runBackfill(`backfill/acme/${FROM}/${TO}`, { onProgress: (p) => seen.push(p.done) });
    expect(r).toMatchObject({ total: 62, done: 62, failed: 0, runs: 3 });
    expect(seen.length).toBeGreaterThan(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);
    await byHand(b.db);
    expect(await figures(a.db)).toEqual(await figures(b.db));
    // the first close of each month mails both finance recipients, then client A and client B their statements
    expect(sink.messages).toHaveLength(8);
    await recordHistory(client, `backfill/acme/${FROM}/${TO}`, 'backfill.json');
  }, 240_000);

  it('again over the unchanged range: nothing changes and nothing is mailed; the dry run agrees', async () => {
    const before = await figures(a.db);
    const p = await preview();
    expect(p.days.every((d) => !d.wouldChange)).toBe(true);
    expect(p.months.map((m) => [m.outcome, m.mailTo.length, m.trends])).toEqual([
      ['unchanged', 0, 'unchanged'],
      ['unchanged', 0, 'unchanged'],
    ]);
    const r = await runBackfill(`backfill/acme/${FROM}/${TO}`);
    expect(r.failed).toBe(0);
    expect(await figures(a.db)).toEqual(before);
    expect(sink.messages).toHaveLength(8);
  }, 240_000);

  it('after late data the dry run shows the restatement and its mail, still writing nothing', async () => {
    await load(
      a.db,
      [rec('2026-09-10T10:00:00Z', 'client-a', 'logs_ingested_bytes', '500', ['team:web', 'env:prod'])],
      true,
    );
    const before = await counts(a.db);
    const p = await preview();
    expect(p.days.filter((d) => d.wouldChange).map((d) => [d.day, d.state])).toEqual([
      ['2026-09-10', 'late data pending'],
    ]);
    const sep = p.months.find((m) => m.month === '2026-09');
    expect(sep).toMatchObject({ current: { version: 1 }, outcome: 'created', newVersion: 2 });
    expect(sep?.mailTo).toHaveLength(2);
    expect(sep?.changes.length).toBeGreaterThan(0);
    expect(p.months.find((m) => m.month === '2026-08')?.outcome).toBe('unchanged');
    expect(await counts(a.db)).toEqual(before);
  });

  it('a worker killed midway: the backfill resumes on another worker and finishes with the same rows', async () => {
    // b gets the same late data by hand; a's backfill restates September through Temporal
    await load(
      b.db,
      [rec('2026-09-10T10:00:00Z', 'client-a', 'logs_ingested_bytes', '500', ['team:web', 'env:prod'])],
      true,
    );
    await byHand(b.db);
    const taskQueue = `test-kill-${randomBytes(4).toString('hex')}`;
    const { address } = testTemporal();
    const child = spawnWorkerProcess({
      databaseUrl: a.url,
      taskQueue,
      smtpUrl: sink.url,
      mailFrom: MAIL_FROM,
    });
    const id = `backfill/acme/${FROM}/${TO}`; // its earlier runs are closed: this starts a new run
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'orgtally'), ...args], {
        env: {
          ...process.env,
          DATABASE_URL: a.url,
          TEMPORAL_ADDRESS: address,
          TEMPORAL_TASK_QUEUE: taskQueue,
        },
        encoding: 'utf8',
      });
    try {
      const handle = await client.workflow.start('backfill', {
        taskQueue,
        workflowId: id,
        args: [{ accountId: 'acme', from: FROM, to: TO, concurrency: 4, chunk: 20 }],
      });
      const seen: number[] = [];
      for (;;) {
        const p = await handle.query(progressQuery).catch(() => undefined);
        if (p) seen.push(p.done);
        if (p && p.done >= 10) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      await once(child, 'exit');
      // the same backfill started again from the CLI attaches to the running one instead of starting another
      const again = cli('backfill', '--account', 'acme', '--from', FROM, '--to', TO, '--no-wait');
      expect(again.status).toBe(0);
      expect(again.stderr).toContain(`${id} is already running: attaching`);
      expect(again.stdout.trim()).toBe(id);
      const { worker, close } = await testWorker(a.db, {
        SMTP_URL: sink.url,
        MAIL_FROM,
        TEMPORAL_TASK_QUEUE: taskQueue,
      });
      try {
        const r: BackfillResult = await worker.runUntil(async () => {
          for (;;) {
            const p = await handle.query(progressQuery).catch(() => undefined);
            if (p) seen.push(p.done);
            if (p?.finished) break;
            await new Promise((res) => setTimeout(res, 100));
          }
          return handle.result();
        });
        expect(r).toMatchObject({ total: 62, done: 62, failed: 0 });
      } finally {
        await close();
      }
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);
      expect(await figures(a.db)).toEqual(await figures(b.db));
      // a finished backfill's status needs no worker
      const status = cli('backfill', 'status', id);
      expect(status.status).toBe(0);
      expect(status.stdout).toContain(`${id}: 62/62 units done`);
      // September was restated once (v2): mailed to both recipients once, and a statement to each billing contact
      expect(sink.messages).toHaveLength(12);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 240_000);
});
