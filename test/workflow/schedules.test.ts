import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import type { Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { ingestFile } from '../../activities/ingest-file';
import { applyAccountSpec } from '../../db/accounts';
import { HOUR_MS, isoHour } from '../../domain/time';
import { ACCOUNT_KINDS } from '../../schedules/desired';
import { applySchedules, listScheduleIds, type ApplyLine, type ScheduleTarget } from '../../schedules/apply';
import { listSchedules } from '../../schedules/operate';
import { accountCalendars as readAccounts } from '../../db/accounts';
import type { ScheduledRunResult } from '../../workflows/scheduled-run';
import { cloneTestDatabase } from '../support/db';
import { exampleSpecJson, parseSpec, rec, tempDir, TEST_AS_OF, writeFile } from '../support/fixtures';
import { recordHistory, testClient, testWorker } from '../support/temporal';

// The dev server is shared by every test file of a run (and TEMPORAL_ADDRESS may point at a real one): this file's
// schedules live under their own prefix, its account id is unique (so are the workflow ids of its runs), and every
// schedule it made is deleted in afterAll.
const tag = randomBytes(3).toString('hex');
const ACCOUNT = `acme-${tag}`;
const GONE = `gone-${tag}`;
const PREFIX = `orgtally-test-${tag}/`;
const TASK_QUEUE = `test-schedules-${tag}`;
const id = (kind: string, account = ACCOUNT) => `${PREFIX}${account}/${kind}`;
const INGEST = `${PREFIX}ingest-drop`;

let db: Knex;
let drop: () => Promise<void>;
let client: Client;
let closeClient: () => Promise<void>;
let target: ScheduleTarget;
const scratch = { drop: tempDir('sched-drop'), out: tempDir('sched-out'), files: tempDir('sched-facts') };

beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  // the example account under a unique id (its own org too); no alert rules: this file sends no mail
  const spec = JSON.parse(JSON.stringify(exampleSpecJson()).replaceAll('"acme"', `"${ACCOUNT}"`));
  spec.alerts = [];
  await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
  ({ client, close: closeClient } = await testClient());
  target = { client, taskQueue: TASK_QUEUE, prefix: PREFIX };
});

afterAll(async () => {
  const ids = new Set([
    INGEST,
    id('weekly'),
    ...ACCOUNT_KINDS.flatMap((k) => [id(k), id(k, GONE)]),
    ...(await listScheduleIds(target)),
  ]);
  for (const s of ids) {
    try {
      await client.schedule.getHandle(s).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  await closeClient();
  await drop();
});

const apply = async (opts: { account?: string; paused?: boolean } = {}) =>
  applySchedules(target, await readAccounts(db), opts);
const outcomes = (lines: ApplyLine[]) => Object.fromEntries(lines.map((l) => [l.scheduleId, l.outcome]));
const describe_ = (scheduleId: string) => client.schedule.getHandle(scheduleId).describe();

/** Everything describe() says about a schedule but the times that move by themselves. */
function snapshot(d: ScheduleDescription) {
  return JSON.stringify({
    spec: d.spec,
    action: d.action,
    policies: d.policies,
    state: d.state,
    createdAt: d.info.createdAt,
    lastUpdatedAt: d.info.lastUpdatedAt,
    conflictToken: Buffer.from(d.raw.conflictToken ?? []).toString('hex'),
  });
}

async function until<T>(what: string, get: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('schedules apply on a real Temporal server', () => {
  it('creates the five schedules once, then changes only what the account changed, keeping their state', async () => {
    const all = [INGEST, ...ACCOUNT_KINDS.map((k) => id(k))];
    const created = await apply({ paused: true });
    expect(outcomes(created)).toEqual(Object.fromEntries(all.map((s) => [s, 'created'])));

    const before = await Promise.all(all.map(describe_));
    expect(before.map((d) => [d.scheduleId, d.spec.timezone, d.policies.overlap, d.state.paused])).toEqual([
      [INGEST, 'UTC', 'SKIP', true],
      [id('attribution'), 'UTC', 'BUFFER_ONE', true],
      [id('estimates'), 'UTC', 'SKIP', true],
      [id('month-end'), 'UTC', 'BUFFER_ONE', true],
      [id('trends'), 'UTC', 'BUFFER_ONE', true],
    ]);
    expect(before[3]?.info.nextActionTimes.slice(0, 2).map((t) => t.toISOString())).toEqual([
      '2026-12-04T01:00:00.000Z',
      '2027-01-04T01:00:00.000Z',
    ]);

    // a second apply changes nothing: not even the update time or the conflict token
    const again = await apply();
    expect(outcomes(again)).toEqual(Object.fromEntries(all.map((s) => [s, 'unchanged'])));
    expect((await Promise.all(all.map(describe_))).map(snapshot)).toEqual(before.map(snapshot));

    // state is the operator's: apply neither unpauses nor pauses
    await client.schedule.getHandle(id('month-end')).pause('held for the audit');
    await client.schedule.getHandle(id('trends')).unpause('live');
    expect(outcomes(await apply())).toEqual(Object.fromEntries(all.map((s) => [s, 'unchanged'])));

    // a shorter lateness moves the monthly schedules only; the paused one stays paused
    await db('accounts').where({ id: ACCOUNT }).update({ lateness_hours: 24 });
    const lateness = await apply();
    expect(lateness.filter((l) => l.outcome !== 'unchanged')).toEqual([
      {
        scheduleId: id('month-end'),
        outcome: 'updated',
        detail: 'calendar: monthly on day 4 at 01:00 → monthly on day 2 at 01:00',
      },
      {
        scheduleId: id('trends'),
        outcome: 'updated',
        detail: 'calendar: monthly on day 4 at 03:00 → monthly on day 2 at 03:00',
      },
    ]);
    const monthEnd = await describe_(id('month-end'));
    expect(monthEnd.state).toMatchObject({ paused: true, note: 'held for the audit' });
    expect(monthEnd.info.nextActionTimes[0]?.toISOString()).toBe('2026-12-02T01:00:00.000Z');
    expect((await describe_(id('trends'))).state.paused).toBe(false);

    // a new time zone moves every schedule of the account, not the global ingest one
    await db('accounts').where({ id: ACCOUNT }).update({ timezone: 'Europe/Paris' });
    const zone = await apply();
    expect(outcomes(zone)).toEqual({
      [INGEST]: 'unchanged',
      ...Object.fromEntries(ACCOUNT_KINDS.map((k) => [id(k), 'updated'])),
    });
    expect(zone.filter((l) => l.outcome === 'updated').map((l) => l.detail)).toEqual([
      'time zone: UTC → Europe/Paris',
      'time zone: UTC → Europe/Paris',
      'time zone: UTC → Europe/Paris',
      'time zone: UTC → Europe/Paris',
    ]);
    expect((await describe_(id('month-end'))).state).toMatchObject({
      paused: true,
      note: 'held for the audit',
    });
    expect((await describe_(id('month-end'))).info.nextActionTimes[0]?.toISOString()).toBe(
      '2026-12-02T00:00:00.000Z', // 01:00 in Paris
    );
    expect(outcomes(await apply())).toEqual(Object.fromEntries(all.map((s) => [s, 'unchanged'])));
    await client.schedule.getHandle(id('trends')).pause('back to paused for the next tests');
  });

  it('a scheduled run computes its period from its scheduled time (backfill of a paused schedule)', async () => {
    // 2026-10-04 in Paris is 10-03T22:00Z .. 10-04T22:00Z
    const lines: string[] = [];
    for (let h = Date.parse('2026-10-03T22:00:00Z'); h < Date.parse('2026-10-04T22:00:00Z'); h += HOUR_MS)
      lines.push(rec(isoHour(h), 'client-a', 'logs_ingested_bytes', '1', ['team:core']));
    await ingestFile(db, {
      path: writeFile(scratch.files, 'day.ndjson', lines),
      format: 'ndjson',
      asOfMs: TEST_AS_OF,
      retentionDays: 400,
    });

    const attributionAt = new Date('2026-10-04T22:30:00Z'); // 2026-10-05 00:30 in Paris
    const estimatesAt = new Date('2026-10-20T12:05:00Z');
    const around = (t: Date) => ({
      start: new Date(t.getTime() - 60_000),
      end: new Date(t.getTime() + 60_000),
    });
    const runOf = (scheduleId: string, at: Date) =>
      until(`a run of ${scheduleId} at ${at.toISOString()}`, async () => {
        const d = await describe_(scheduleId);
        return d.info.recentActions.find((a) => a.scheduledAt.getTime() === at.getTime())?.action.workflow
          .workflowId;
      });

    const { worker, close } = await testWorker(db, {
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      DROP_DIR: scratch.drop,
      OUTPUT_DIR: scratch.out,
    });
    let results: ScheduledRunResult[];
    let workflowIds: string[];
    try {
      ({ results, workflowIds } = await worker.runUntil(async () => {
        await client.schedule.getHandle(id('attribution')).backfill([{ ...around(attributionAt) }]);
        await client.schedule.getHandle(id('estimates')).backfill([{ ...around(estimatesAt) }]);
        const ids = [
          await runOf(id('attribution'), attributionAt),
          await runOf(id('estimates'), estimatesAt),
        ];
        const res = await Promise.all(ids.map((w) => client.workflow.getHandle(w).result()));
        return { results: res as ScheduledRunResult[], workflowIds: ids };
      }));
    } finally {
      await close();
    }

    // Temporal appends the scheduled time to the workflow id
    expect(workflowIds).toEqual([
      `scheduled/${ACCOUNT}/attribution-2026-10-04T22:30:00Z`,
      `scheduled/${ACCOUNT}/estimates-2026-10-20T12:05:00Z`,
    ]);
    expect(results).toEqual([
      { kind: 'attribution', at: '2026-10-04T22:30:00.000Z', ran: [`attribution/${ACCOUNT}/2026-10-04`] },
      {
        kind: 'estimates',
        at: '2026-10-20T12:05:00.000Z',
        ran: [`estimates/${ACCOUNT}/2026-10-20T12:00:00Z`],
      },
    ]);
    for (const child of [`attribution/${ACCOUNT}/2026-10-04`, `estimates/${ACCOUNT}/2026-10-20T12:00:00Z`])
      expect((await client.workflow.getHandle(child).describe()).status.name).toBe('COMPLETED');
    await recordHistory(
      client,
      `scheduled/${ACCOUNT}/attribution-2026-10-04T22:30:00Z`,
      'scheduled-run.json',
    );

    const attributed = await db('attribution_runs')
      .where({ account_id: ACCOUNT })
      .select(db.raw(`to_char(day, 'YYYY-MM-DD') AS day`), 'facts');
    expect(attributed).toEqual([{ day: '2026-10-04', facts: 24 }]);
    const estimated = await db('estimate_runs').where({ account_id: ACCOUNT }).select('as_of');
    expect(estimated.map((r) => new Date(r.as_of).toISOString())).toEqual(['2026-10-20T12:00:00.000Z']);

    // list shows them (paused: the backfill ran anyway) with the last run
    const rows = await listSchedules(target);
    const attribution = rows.find((r) => r.id === id('attribution'));
    expect(attribution).toMatchObject({
      kind: 'attribution',
      account: ACCOUNT,
      calendar: 'daily at 00:30',
      timezone: 'Europe/Paris',
      overlap: 'BUFFER_ONE',
      paused: true,
      lastRun: {
        scheduledAt: '2026-10-04T22:30:00.000Z',
        workflowId: `scheduled/${ACCOUNT}/attribution-2026-10-04T22:30:00Z`,
      },
    });
    expect(attribution?.next).toHaveLength(3);
    expect(rows.find((r) => r.id === id('estimates'))?.calendar).toBe('hourly at :05');
  });

  it("deletes the schedules of an account that is gone, and those of kinds it doesn't know", async () => {
    await expect(apply({ account: GONE })).rejects.toThrow(`no account "${GONE}"`);
    await db('accounts').insert({ id: GONE, name: 'Gone', timezone: 'UTC', lateness_hours: 48 });
    const only = await apply({ account: GONE, paused: true });
    expect(outcomes(only)).toEqual(Object.fromEntries(ACCOUNT_KINDS.map((k) => [id(k, GONE), 'created'])));
    const stray = await describe_(id('attribution'));
    await client.schedule.create({
      scheduleId: id('weekly'),
      spec: { calendars: [{ dayOfWeek: 'MONDAY' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'scheduledRun',
        taskQueue: TASK_QUEUE,
        args: stray.action.args,
      },
      state: { paused: true },
    });
    // listing is eventually consistent: apply finds a gone account's schedules only once they are listed
    const expected = [id('weekly'), ...ACCOUNT_KINDS.map((k) => id(k, GONE))];
    await until('the schedules to be listed', async () => {
      const listed = await listScheduleIds(target);
      return expected.every((s) => listed.includes(s)) || undefined;
    });

    await db('accounts').where({ id: GONE }).delete();
    const lines = await apply();
    expect(lines.filter((l) => l.outcome !== 'unchanged')).toEqual(
      [
        ...ACCOUNT_KINDS.map((k) => ({
          scheduleId: id(k, GONE),
          outcome: 'deleted',
          detail: `account "${GONE}" is gone`,
        })),
        { scheduleId: id('weekly'), outcome: 'deleted', detail: 'unknown kind' },
      ].sort((a, b) => (a.scheduleId < b.scheduleId ? -1 : 1)),
    );
    for (const s of expected) await expect(describe_(s)).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await apply()).every((l) => l.outcome === 'unchanged')).toBe(true);
  });
});
