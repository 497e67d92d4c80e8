import { ScheduleOverlapPolicy, type CalendarSpec, type IntervalSpec } from '@temporalio/client';
import type { AccountCalendar } from '../db/accounts';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { workflowIds } from '../domain/workflow-ids';
import type { ScheduledKind, ScheduledRunInput } from '../workflows/scheduled-run';

/**
 * Temporal Schedules for every account: what they should be, as pure functions of an account row (making the
 * server match them: apply.ts). Every schedule starts the one `scheduledRun` workflow, which computes
 * its period from its scheduled time.
 */

export const SCHEDULE_PREFIX = 'orgtally/';
/** The kinds every account has a schedule for; `ingest` is one global schedule (the drop folder is shared). */
export const ACCOUNT_KINDS = ['attribution', 'estimates', 'month-end', 'trends'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];
const INGEST_NAME = 'ingest-drop';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** What an account's schedules depend on: its zone and its lateness window. */
export type AccountRow = Pick<AccountCalendar, 'id' | 'timezone' | 'lateness_hours'>;

export interface DesiredSchedule {
  scheduleId: string;
  kind: ScheduledKind;
  accountId: string | undefined;
  spec: { calendars: CalendarSpec[]; intervals: IntervalSpec[]; timezone: string };
  action: {
    type: 'startWorkflow';
    workflowType: 'scheduledRun';
    taskQueue: string;
    workflowId: string;
    args: [ScheduledRunInput];
  };
  policies: { overlap: ScheduleOverlapPolicy; catchupWindow: number };
}

/** The latest day of month that every month has: a later close day would skip February. */
const LAST_SAFE_DAY = 28;

/**
 * The day of the month the month-end close (and trends) fire: the first whole day after the lateness window that
 * follows the month's end. 72 h → the 4th, 24 h → the 2nd, 0 h → the 1st (at 01:00, so after the window).
 */
export function monthEndDay(latenessHours: number): number {
  const day = Math.ceil(latenessHours / 24) + 1;
  if (day > LAST_SAFE_DAY)
    throw new OrgtallyError(
      ErrorType.InvalidInput,
      `a lateness of ${latenessHours} h puts the month-end close on day ${day}, which not every month has ` +
        `(at most ${(LAST_SAFE_DAY - 1) * 24} h)`,
    );
  return day;
}

export function scheduleIdOf(kind: ScheduledKind, accountId?: string, prefix = SCHEDULE_PREFIX): string {
  return kind === 'ingest' ? `${prefix}${INGEST_NAME}` : `${prefix}${accountId}/${kind}`;
}

/** What a schedule id under the prefix names; `unknown` for anything we never create. */
export function parseScheduleId(
  scheduleId: string,
  prefix = SCHEDULE_PREFIX,
): { kind: ScheduledKind; accountId?: string } | { unknown: true; accountId?: string } {
  const rest = scheduleId.slice(prefix.length);
  if (!scheduleId.startsWith(prefix)) return { unknown: true };
  if (rest === INGEST_NAME) return { kind: 'ingest' };
  const parts = rest.split('/');
  const [accountId, kind] = parts;
  if (parts.length === 2 && accountId && (ACCOUNT_KINDS as readonly string[]).includes(kind ?? ''))
    return { kind: kind as AccountKind, accountId };
  return { unknown: true, ...(parts.length >= 2 && accountId ? { accountId } : {}) };
}

function action(kind: ScheduledKind, taskQueue: string, accountId?: string): DesiredSchedule['action'] {
  return {
    type: 'startWorkflow',
    workflowType: 'scheduledRun',
    taskQueue,
    // Temporal appends the scheduled time: `scheduled/acme/attribution-2026-10-05T00:30:00Z`.
    workflowId: workflowIds.scheduledRun(kind === 'ingest' ? INGEST_NAME : `${accountId}/${kind}`),
    args: [accountId === undefined ? { kind } : { kind, accountId }],
  };
}

/** The global drop-folder schedule: every 5 minutes (UTC). */
export function ingestSchedule(taskQueue: string, prefix = SCHEDULE_PREFIX): DesiredSchedule {
  return {
    scheduleId: scheduleIdOf('ingest', undefined, prefix),
    kind: 'ingest',
    accountId: undefined,
    spec: { calendars: [], intervals: [{ every: 5 * MINUTE, offset: 0 }], timezone: 'UTC' },
    action: action('ingest', taskQueue),
    // SKIP: a running ingest already reads the whole folder; a second one would find nothing new.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 10 * MINUTE },
  };
}

/** An account's four schedules, in its time zone. */
export function accountSchedules(
  account: AccountRow,
  taskQueue: string,
  prefix = SCHEDULE_PREFIX,
): DesiredSchedule[] {
  const day = monthEndDay(account.lateness_hours);
  const one = (
    kind: AccountKind,
    calendar: CalendarSpec,
    policies: DesiredSchedule['policies'],
  ): DesiredSchedule => ({
    scheduleId: scheduleIdOf(kind, account.id, prefix),
    kind,
    accountId: account.id,
    spec: { calendars: [calendar], intervals: [], timezone: account.timezone },
    action: action(kind, taskQueue, account.id),
    policies,
  });
  return [
    one(
      'attribution',
      { hour: 0, minute: 30, comment: 'the previous day and every day with late data' },
      // BUFFER_ONE: late data that arrives during a run must be attributed after it.
      { overlap: ScheduleOverlapPolicy.BUFFER_ONE, catchupWindow: 7 * DAY },
    ),
    one(
      'estimates',
      { hour: '*', minute: 5, comment: 'the estimate of the hour' },
      // SKIP: estimates are cumulative, so the next hour's run supersedes one that could not start.
      { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: HOUR },
    ),
    one(
      'month-end',
      {
        dayOfMonth: day,
        hour: 1,
        minute: 0,
        comment: `close the previous month after its ${account.lateness_hours} h lateness window`,
      },
      // BUFFER_ONE: a close must never be dropped; one buffered run is enough (it closes the same month).
      { overlap: ScheduleOverlapPolicy.BUFFER_ONE, catchupWindow: 7 * DAY },
    ),
    one(
      'trends',
      { dayOfMonth: day, hour: 3, minute: 0, comment: "the previous month's six-month trends" },
      // BUFFER_ONE: as month-end; a no-op when the close already computed them.
      { overlap: ScheduleOverlapPolicy.BUFFER_ONE, catchupWindow: 7 * DAY },
    ),
  ];
}

/** Every schedule the accounts should have (plus the global ingest one unless `account` limits it to one). */
export function desiredSchedules(
  accounts: readonly AccountRow[],
  taskQueue: string,
  opts: { account?: string; prefix?: string } = {},
): DesiredSchedule[] {
  const prefix = opts.prefix ?? SCHEDULE_PREFIX;
  return [
    ...(opts.account === undefined ? [ingestSchedule(taskQueue, prefix)] : []),
    ...accounts
      .filter((a) => opts.account === undefined || a.id === opts.account)
      .flatMap((a) => accountSchedules(a, taskQueue, prefix)),
  ];
}
