import { parse } from 'csv-parse/sync';
import type { Knex } from 'knex';
import { spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { Readable } from 'node:stream';
import { alertHistory } from '../../db/alert-reads';
import { evaluateAlerts } from '../../db/alerts';
import { attributeDay } from '../../db/attribution';
import { computeEstimates } from '../../db/estimates';
import { estimateErrors } from '../../db/estimate-reads';
import { refreshRollup } from '../../db/usage-rollup';
import { ingestStream } from '../../activities/ingest-file';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { PROJECT_ROOT } from '../../infra/config';
import { startMailSink } from '../../infra/mail-sink';
import { sampleUsage } from '../../scripts/lib/sample-data';
import { cloneTestDatabase } from '../support/db';
import { applyExample } from '../support/fixtures';
import { testTemporal, testWorker } from '../support/temporal';

let db: Knex;
let url: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, url, drop } = await cloneTestDatabase());
  // Delivery workflow ids are `delivery/<ledger id>` on a namespace other test files share: start far apart.
  await db.raw(`ALTER SEQUENCE deliveries_id_seq RESTART WITH ${randomInt(1_000_000, 1_000_000_000)}`);
});
afterAll(async () => drop());

/** The real CLI in a child process, against this file's database. */
function orgtally(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'orgtally'), ...args], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(...args: string[]): string {
  const r = orgtally(...args);
  if (r.status !== 0) throw new Error(`orgtally ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The CLI without blocking this process (an in-process worker must keep running meanwhile). */
async function orgtallyAsync(env: Record<string, string>, ...args: string[]) {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'orgtally'), ...args], {
    env: { ...process.env, DATABASE_URL: url, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

const jsonLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

/** Normalizes what JSON.stringify makes of rows read through knex (dates become ISO strings). */
const viaJson = (rows: unknown) => JSON.parse(JSON.stringify(rows));

const FROM = '2026-11-01T00:00:00Z';
/** Data through 05:00 of the 10th; client-c stops on the 5th (a stall). */
const TO = '2026-11-10T05:00:00Z';
const CLIENT_C_STOPS = '2026-11-05T00:00:00Z';
/**
 * Estimate runs: about 10 %, 23 %, 30 % and 31 % into November (the last as-of is truncated to its hour). Org
 * rows are kept for the last run of each UTC day: not for 02:00 on the 10th.
 */
const RUNS = ['2026-11-04T00:00:00Z', '2026-11-08T00:00:00Z', '2026-11-10T02:00:00Z', '2026-11-10T05:30:00Z'];
const LATEST = '2026-11-10T05:00:00.000Z';
/** `report estimates --format json` of the latest run. */
let latest: { totals: Record<string, unknown>[]; orgs: Record<string, unknown>[]; currency: string };

describe('orgtally report estimates / alerts', () => {
  beforeAll(async () => {
    await applyExample(db);
    const stop = Date.parse(CLIENT_C_STOPS);
    const lines = Readable.from(
      (function* () {
        for (const r of sampleUsage({ fromMs: Date.parse(FROM), toMs: Date.parse(TO) }))
          if (r.org !== 'client-c' || Date.parse(r.timestamp) < stop) yield `${JSON.stringify(r)}\n`;
      })(),
    );
    const res = await ingestStream(db, {
      source: 'november.ndjson',
      stream: lines,
      format: 'ndjson',
      asOfMs: Date.parse(TO),
      retentionDays: 400,
    });
    expect(res.quarantined).toBe(0);
  }, 60_000);

  it('exits 1 with a message when no estimate exists', () => {
    const none = orgtally('report', 'estimates', '--account', 'acme');
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no estimate of acme yet: run `orgtally run estimates --account acme`/);
    const unknown = orgtally('report', 'estimates', '--account', 'nobody', '--format', 'json');
    expect([unknown.status, unknown.stdout]).toEqual([1, '']);
    expect(unknown.stderr).toMatch(/no account "nobody"/);
  });

  it('stores estimates and alerts (directly, no Temporal)', async () => {
    for (const asOf of RUNS) {
      await refreshRollup(db);
      await computeEstimates(db, 'acme', asOf);
      await evaluateAlerts(db, { accountId: 'acme', asOf }, 'orgtally.test');
    }
    expect(Number((await db('estimate_runs').count({ n: '*' }))[0]?.n)).toBe(4);
  }, 30_000);

  it('--format json: one object whose decimal strings are the stored rows', async () => {
    const report = JSON.parse(ok('report', 'estimates', '--account', 'acme', '--format', 'json'));
    latest = report;
    expect(report).toMatchObject({
      account: 'acme',
      month: '2026-11',
      as_of: LATEST,
      hours_elapsed: 9 * 24 + 5,
      month_hours: 720,
      data_complete_through: '2026-11-07T05:00:00.000Z',
      status: 'provisional',
      currency: 'USD',
    });
    // priced: the product has a price in the commitments (a product without one costs "not priced", not 0).
    const { rows: totals } = await db.raw(
      `SELECT usage_type, unit, aggregation, method, mtd_usage::text, mtd_billable::text, projected_usage::text,
              projected_billable::text, included_usage::text, projected_on_demand::text,
              projected_on_demand_cost::text,
              EXISTS (SELECT 1 FROM commitments c WHERE c.account_id = 'acme' AND c.product_code = usage_type
                         AND (c.committed_price <> 0 OR c.on_demand_price <> 0)) AS priced
         FROM estimate_totals WHERE account_id = 'acme' AND as_of = ? ORDER BY usage_type COLLATE "C"`,
      [LATEST],
    );
    expect(new Set(totals.map((t: { priced: boolean }) => t.priced))).toEqual(new Set([true, false]));
    expect(totals).toHaveLength(10);
    expect(report.totals).toEqual(totals);
    const { rows: orgs } = await db.raw(
      `SELECT public_id, org_name, billable, usage_type, mtd_usage::text, projected_usage::text
         FROM estimate_orgs WHERE account_id = 'acme' AND as_of = ?
        ORDER BY public_id COLLATE "C", usage_type COLLATE "C"`,
      [LATEST],
    );
    expect(orgs.length).toBeGreaterThan(0);
    expect(report.orgs).toEqual(orgs);
    const hosts = report.totals.find((t: { usage_type: string }) => t.usage_type === 'infra_hosts');
    expect(hosts).toMatchObject({ method: 'so_far', aggregation: expect.any(String) });
    const sums = report.totals.filter((t: { aggregation: string }) => t.aggregation === 'sum');
    expect(sums.length).toBeGreaterThan(0);
    for (const t of sums) expect(t.method).toBe('extrapolated');

    // an earlier run by --as-of: its own totals; org rows only when it was the last run of its day
    const dbRun = async (asOf: string) => ({
      totals: (
        await db.raw(
          `SELECT usage_type, projected_billable::text FROM estimate_totals
            WHERE account_id = 'acme' AND as_of = ? ORDER BY usage_type COLLATE "C"`,
          [asOf],
        )
      ).rows,
      orgs: (
        await db.raw(
          `SELECT public_id, usage_type, projected_usage::text FROM estimate_orgs
            WHERE account_id = 'acme' AND as_of = ? ORDER BY public_id COLLATE "C", usage_type COLLATE "C"`,
          [asOf],
        )
      ).rows,
    });
    const cliRun = (asOf: string) => {
      const r = JSON.parse(
        ok('report', 'estimates', '--account', 'acme', '--as-of', asOf, '--format', 'json'),
      );
      return {
        head: [r.as_of, r.hours_elapsed],
        totals: r.totals.map((t: Record<string, string>) => ({
          usage_type: t.usage_type,
          projected_billable: t.projected_billable,
        })),
        orgs: r.orgs.map((o: Record<string, string>) => ({
          public_id: o.public_id,
          usage_type: o.usage_type,
          projected_usage: o.projected_usage,
        })),
      };
    };
    const day8 = cliRun('2026-11-08T00:20:00Z');
    expect(day8.head).toEqual(['2026-11-08T00:00:00.000Z', 168]);
    expect(day8.orgs.length).toBeGreaterThan(0);
    expect({ totals: day8.totals, orgs: day8.orgs }).toEqual(await dbRun('2026-11-08T00:00:00Z'));
    const early10 = cliRun('2026-11-10T02:00:00Z');
    expect(early10.head).toEqual(['2026-11-10T02:00:00.000Z', 218]);
    expect(early10.orgs).toEqual([]);
    expect(early10.totals).toEqual((await dbRun('2026-11-10T02:00:00Z')).totals);
    const noOrgs = orgtally(
      'report',
      'estimates',
      '--account',
      'acme',
      '--as-of',
      '2026-11-10T02:00:00Z',
      '--rows',
      'by_org',
    );
    expect([noOrgs.status, noOrgs.stdout.trim()]).toEqual([0, '(none)']);
    expect(noOrgs.stderr).toContain('no org rows');
    const missing = orgtally('report', 'estimates', '--account', 'acme', '--as-of', '2026-11-09T00:00:00Z');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no estimate of acme at 2026-11-09T00:00:00Z/);
  });

  it('--format csv round-trips to the JSON rows; the table has the header and one line per product', () => {
    const csv = parse(ok('report', 'estimates', '--account', 'acme', '--format', 'csv'), { columns: true });
    // CSV: the JSON rows, with the currency beside the amounts (CSV has no booleans: "true"/"false").
    expect(csv).toEqual(
      latest.totals.map((t: Record<string, unknown>) => ({
        ...t,
        priced: String(t.priced),
        currency: latest.currency,
      })),
    );
    const byOrg = parse(
      ok('report', 'estimates', '--account', 'acme', '--format', 'csv', '--rows', 'by_org'),
      { columns: true },
    ) as Record<string, string>[];
    expect(byOrg).toEqual(latest.orgs.map((o) => ({ ...o, billable: String(o.billable) })));
    const t = orgtally('report', 'estimates', '--account', 'acme');
    expect(t.status).toBe(0);
    expect(t.stderr).toContain(
      `acme 2026-11 as of ${LATEST}: 221 of 720 h elapsed; data complete through 2026-11-07T05:00:00.000Z; provisional`,
    );
    const lines = t.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^product +unit +rule +method +mtd billable +projected +included +on-demand +cost \(USD\)$/,
    );
    expect(lines).toHaveLength(2 + 10);
    for (const r of latest.totals as {
      usage_type: string;
      priced: boolean;
      projected_on_demand_cost: string;
    }[])
      expect([
        r.usage_type,
        (lines.find((l) => l.startsWith(`${r.usage_type} `)) ?? '').split(/ {2,}/).at(-1),
      ]).toEqual([r.usage_type, r.priced ? r.projected_on_demand_cost : 'not priced']);
  });

  it('alerts list / history --json: what alert_states and alert_events hold', async () => {
    const states = await db('alert_states')
      .where({ account_id: 'acme' })
      .orderByRaw('rule_id COLLATE "C", scope_key COLLATE "C"')
      .select('rule_id', 'scope_key', 'state', 'window', 'last_notified_at', 'message', 'updated_at');
    const firing = states.filter((s) => s.state === 'firing');
    // client-c stopped on the 5th: its stall fires
    expect(firing.map((s) => [s.rule_id, s.scope_key])).toContainEqual(['data-stall', 'org=client-c']);
    expect(states.length).toBeGreaterThan(firing.length);
    expect(jsonLines(ok('alerts', 'list', '--account', 'acme', '--json'))).toEqual(viaJson(firing));
    expect(jsonLines(ok('alerts', 'list', '--account', 'acme', '--all', '--json'))).toEqual(viaJson(states));

    const events = await db('alert_events')
      .where({ account_id: 'acme' })
      .orderBy([
        { column: 'as_of', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]);
    expect(events.length).toBeGreaterThan(0);
    const history = jsonLines(ok('alerts', 'history', '--account', 'acme', '--json'));
    expect(
      history.map((h) => [h.id, h.as_of, h.rule_id, h.notify, h.scope_key, h.window, h.message]),
    ).toEqual(
      events.map((e) => [
        String(e.id),
        e.as_of.toISOString(),
        e.rule_id,
        e.notify,
        e.scope_key,
        e.window,
        e.message,
      ]),
    );
    expect(history).toEqual(viaJson(await alertHistory(db, 'acme')));
    const deliveries = await db('deliveries')
      .where({ kind: 'alert' })
      .select('reference', 'recipient', 'status');
    for (const h of history)
      expect(h.deliveries).toEqual(
        deliveries
          .filter((d) => d.reference.eventId === h.id)
          .map((d) => ({ recipient: d.recipient, status: d.status })),
      );
    expect(jsonLines(ok('alerts', 'history', '--account', 'acme', '--limit', '1', '--json'))).toEqual(
      history.slice(0, 1),
    );

    const table = ok('alerts', 'history', '--account', 'acme');
    expect(table).toContain('ops@acme.example:pending');
    expect(ok('deliveries', 'list', '--account', 'acme')).toMatch(/alert event \d+/);
  });

  it('report estimates --error: refused before the month is closed, then the error at 25/50/75/100 %', async () => {
    const before = orgtally('report', 'estimates', '--account', 'acme', '--error', '--month', '2026-11');
    expect(before.status).toBe(1);
    expect(before.stderr).toMatch(/acme 2026-11 has no month-end version/);
    for (const day of (await monthDays(db, 'acme', '2026-11')).toAttribute)
      await attributeDay(db, { accountId: 'acme', day });
    await closeMonth(db, { accountId: 'acme', month: '2026-11', asOf: RUNS[3] as string });
    const e = await estimateErrors(db, 'acme', '2026-11');
    const report = JSON.parse(
      ok('report', 'estimates', '--account', 'acme', '--error', '--month', '2026-11', '--format', 'json'),
    );
    expect(report).toMatchObject({ account: 'acme', month: '2026-11', version: 1 });
    expect(report.rows).toHaveLength(10);
    expect(report.rows).toEqual(viaJson(e.rows));
    // a run was made before 25 % of the month: every target has a point (the 23 % run, then the 31 % run)
    expect(report.rows[0].points.map((p: { target_percent: number }) => p.target_percent)).toEqual([
      25, 50, 75, 100,
    ]);
    expect(report.rows[0].points.map((p: { elapsed_percent: number }) => p.elapsed_percent)).toEqual([
      23.3, 30.7, 30.7, 30.7,
    ]);
    const csv = parse(
      ok('report', 'estimates', '--account', 'acme', '--error', '--month', '2026-11', '--format', 'csv'),
      { columns: true },
    ) as Record<string, string>[];
    expect(csv.map((r) => [r.usage_type, r.final_billable, r.projected_50, r.error_percent_50])).toEqual(
      e.rows.map((r) => [
        r.usage_type,
        r.final_billable,
        r.points[1]?.projected_billable,
        r.points[1]?.error_percent ?? '',
      ]),
    );
    expect(ok('report', 'estimates', '--account', 'acme', '--error', '--month', '2026-11')).toMatch(
      /usage_type +unit +final_billable +25 % +50 % +75 % +100 %/,
    );
  }, 30_000);

  it('run estimates --wait: starts usageEstimates under its hour id, prints one summary', async () => {
    const sink = await startMailSink();
    const { worker, taskQueue, close } = await testWorker(db, {
      SMTP_URL: sink.url,
      MAIL_FROM: 'orgtally <alerts@orgtally.test>',
    });
    try {
      const r = await worker.runUntil(async () => {
        const out = await orgtallyAsync(
          { TEMPORAL_ADDRESS: testTemporal().address, TEMPORAL_TASK_QUEUE: taskQueue },
          ...['run', 'estimates', '--account', 'acme', '--as-of', '2026-11-10T06:10:00Z', '--wait'],
        );
        // the alert mails still pending are sent by the delivery workflows the run started
        const end = Date.now() + 20_000;
        while ((await db('deliveries').whereNot({ status: 'sent' }).first('id')) && Date.now() < end)
          await new Promise((res) => setTimeout(res, 100));
        return out;
      });
      expect([r.status, r.stderr.trim()]).toEqual([0, 'started estimates/acme/2026-11-10T06:00:00Z']);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toBe(
        'acme 2026-11 as of 2026-11-10T06:00:00Z: 222 of 720 h elapsed, data complete through ' +
          '2026-11-07T06:00:00.000Z (provisional); 10 product(s), 47 org row(s); 0 new batch(es) rolled up',
      );
      expect(lines[1]).toMatch(/^alerts: \d+ evaluated, \d+ not evaluated, 2 firing; /);
      expect(r.stdout).toMatch(/^deliveries: 2 started, 0 already running/m);
      expect(sink.messages).toHaveLength(2);
      expect(await db('deliveries').where({ status: 'sent' }).count({ n: '*' })).toEqual([{ n: '2' }]);
    } finally {
      await close();
      await sink.close();
    }
  }, 60_000);
});
