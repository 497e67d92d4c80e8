import type { ScheduleDescription } from '@temporalio/client';
import {
  accountSchedules,
  desiredSchedules,
  ingestSchedule,
  monthEndDay,
  parseScheduleId,
  type DesiredSchedule,
} from '../../schedules/desired';
import { calendarWords, scheduleDifferences, specWords } from '../../schedules/compare';

const acme = { id: 'acme', timezone: 'Europe/Paris', lateness_hours: 72 };
const byKind = (account = acme) =>
  Object.fromEntries(accountSchedules(account, 'q').map((s) => [s.kind, s])) as Record<
    string,
    DesiredSchedule
  >;

/** What describe() gives back for a schedule we created: every calendar field expanded, durations in ms. */
function described(d: DesiredSchedule, over: Partial<ScheduleDescription> = {}): ScheduleDescription {
  const r = (start: unknown, end = start) => [{ start, end, step: 1 }];
  const calendars = d.spec.calendars.map((c) => ({
    second: r(0),
    minute: r(c.minute),
    hour: c.hour === '*' ? r(0, 23) : r(c.hour),
    dayOfMonth: c.dayOfMonth === undefined ? r(1, 31) : r(c.dayOfMonth),
    month: r('JANUARY', 'DECEMBER'),
    year: [],
    dayOfWeek: r('SUNDAY', 'SATURDAY'),
    comment: c.comment,
  }));
  return {
    scheduleId: d.scheduleId,
    spec: { calendars, intervals: d.spec.intervals, skip: [], timezone: d.spec.timezone },
    // decoded from payloads: key order is not kept
    action: {
      ...d.action,
      args: d.action.args.map((a) => Object.fromEntries(Object.entries(a).reverse())),
      searchAttributes: {},
      priority: {},
    },
    policies: { ...d.policies, pauseOnFailure: false },
    state: { paused: true, note: 'x' },
    ...over,
  } as unknown as ScheduleDescription;
}

describe('desired schedules', () => {
  it('closes the month on the first whole day after the lateness window, at 01:00', () => {
    expect(monthEndDay(72)).toBe(4);
    expect(monthEndDay(24)).toBe(2);
    expect(monthEndDay(25)).toBe(3);
    expect(monthEndDay(0)).toBe(1);
    expect(() => monthEndDay(28 * 24)).toThrow(/day 29, which not every month has/);
    for (const [hours, day] of [
      [72, 4],
      [24, 2],
      [0, 1],
    ] as const) {
      const s = byKind({ ...acme, lateness_hours: hours });
      expect(s['month-end']?.spec.calendars).toEqual([
        expect.objectContaining({ dayOfMonth: day, hour: 1, minute: 0 }),
      ]);
      expect(s.trends?.spec.calendars).toEqual([
        expect.objectContaining({ dayOfMonth: day, hour: 3, minute: 0 }),
      ]);
      expect(calendarWords(s['month-end']?.spec.calendars[0] ?? {})).toBe(`monthly on day ${day} at 01:00`);
    }
  });

  it("carries the account's time zone; ingest is a UTC interval", () => {
    const s = byKind();
    for (const kind of ['attribution', 'estimates', 'month-end', 'trends'])
      expect(s[kind]?.spec.timezone).toBe('Europe/Paris');
    expect(specWords(s.attribution?.spec ?? {})).toBe('daily at 00:30');
    expect(specWords(s.estimates?.spec ?? {})).toBe('hourly at :05');
    const ingest = ingestSchedule('q');
    expect(ingest.spec).toMatchObject({ timezone: 'UTC', calendars: [], intervals: [{ every: 300_000 }] });
    expect(specWords(ingest.spec)).toBe('every 5 minutes');
  });

  it('ids, actions and policies', () => {
    const all = desiredSchedules([acme], 'orgtally');
    expect(all.map((s) => s.scheduleId)).toEqual([
      'orgtally/ingest-drop',
      'orgtally/acme/attribution',
      'orgtally/acme/estimates',
      'orgtally/acme/month-end',
      'orgtally/acme/trends',
    ]);
    expect(all.map((s) => [s.action.workflowId, s.action.args[0]])).toEqual([
      ['scheduled/ingest-drop', { kind: 'ingest' }],
      ['scheduled/acme/attribution', { kind: 'attribution', accountId: 'acme' }],
      ['scheduled/acme/estimates', { kind: 'estimates', accountId: 'acme' }],
      ['scheduled/acme/month-end', { kind: 'month-end', accountId: 'acme' }],
      ['scheduled/acme/trends', { kind: 'trends', accountId: 'acme' }],
    ]);
    expect(
      all.every((s) => s.action.workflowType === 'scheduledRun' && s.action.taskQueue === 'orgtally'),
    ).toBe(true);
    expect(all.map((s) => [s.policies.overlap, s.policies.catchupWindow / 60_000])).toEqual([
      ['SKIP', 10],
      ['BUFFER_ONE', 7 * 24 * 60],
      ['SKIP', 60],
      ['BUFFER_ONE', 7 * 24 * 60],
      ['BUFFER_ONE', 7 * 24 * 60],
    ]);
    expect(desiredSchedules([acme], 'q', { account: 'acme' }).map((s) => s.kind)).toEqual([
      'attribution',
      'estimates',
      'month-end',
      'trends',
    ]);
  });

  it('parses our schedule ids', () => {
    expect(parseScheduleId('orgtally/ingest-drop')).toEqual({ kind: 'ingest' });
    expect(parseScheduleId('orgtally/acme/month-end')).toEqual({ kind: 'month-end', accountId: 'acme' });
    expect(parseScheduleId('orgtally/acme/weekly')).toEqual({ unknown: true, accountId: 'acme' });
    expect(parseScheduleId('orgtally/other')).toEqual({ unknown: true });
  });
});

describe('comparing with describe()', () => {
  it('sees no difference in what describe() returns for what was sent', () => {
    for (const d of [...accountSchedules(acme, 'q'), ingestSchedule('q')])
      expect(scheduleDifferences(described(d), d)).toEqual([]);
  });

  it('names what differs', () => {
    const now = byKind();
    const before = byKind({ id: 'acme', timezone: 'UTC', lateness_hours: 24 });
    expect(
      scheduleDifferences(
        described(before['month-end'] as DesiredSchedule),
        now['month-end'] as DesiredSchedule,
      ),
    ).toEqual([
      'calendar: monthly on day 2 at 01:00 → monthly on day 4 at 01:00',
      'time zone: UTC → Europe/Paris',
    ]);
    const ingest = ingestSchedule('q');
    const old = described(ingest);
    expect(
      scheduleDifferences(
        { ...old, spec: { ...old.spec, timezone: '' }, policies: { ...old.policies, overlap: 'ALLOW_ALL' } },
        ingestSchedule('other'),
      ),
    ).toEqual(['task queue: q → other', 'overlap: ALLOW_ALL → SKIP']);
  });
});
