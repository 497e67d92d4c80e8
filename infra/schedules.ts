import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type CalendarSpec,
  type CalendarSpecDescription,
  type Client,
  type IntervalSpec,
  type ScheduleDescription,
  type ScheduleHandle,
} from '@temporalio/client';
import type { Knex } from 'knex';
import { ErrorType, OrgtallyError } from '../domain/errors';
import type { ScheduledKind, ScheduledRunInput } from '../workflows/scheduled-run';
import { workflowIds } from '../domain/workflow-ids';

/**
 * Temporal Schedules for every account: what they should be (pure functions of an account row) and making the
 * server match that (apply), idempotently. Every schedule starts the one `scheduledRun` workflow, which computes
 * its period from its scheduled time.
 */

export const SCHEDULE_PREFIX = 'orgtally/';
/** The kinds every account has a schedule for; `ingest` is one global schedule (the drop folder is shared). */
export const ACCOUNT_KINDS = ['attribution', 'estimates', 'month-end', 'trends'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];
const INGEST_NAME = 'ingest-drop';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface AccountRow {
  id: string;
  timezone: string;
  lateness_hours: number;
}

/** Where schedules live: the client, the task queue their runs go to, and the schedule id prefix. */
export interface ScheduleTarget {
  client: Client;
  taskQueue: string;
  /** Default `orgtally/`; tests use their own so they never touch anyone else's schedules. */
  prefix?: string;
}

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

// ---------------------------------------------------------------------------------------------------------------
// What the schedules should be
// ---------------------------------------------------------------------------------------------------------------

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

export async function readAccounts(db: Knex): Promise<AccountRow[]> {
  const rows = await db('accounts').select('id', 'timezone', 'lateness_hours').orderBy('id');
  return rows.map((r) => ({ id: r.id, timezone: r.timezone, lateness_hours: Number(r.lateness_hours) }));
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing what we own, whatever its representation
// ---------------------------------------------------------------------------------------------------------------

interface Range {
  start: unknown;
  end: unknown;
  step: number;
}
type CalendarField = 'second' | 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'year' | 'dayOfWeek';
const span = (start: unknown, end: unknown): Range[] => [{ start, end, step: 1 }];
/** As the SDK encodes a CalendarSpec: what an omitted field and `*` mean (describe() returns them expanded). */
const CALENDAR_FIELDS: Record<CalendarField, { unset: Range[]; all: Range[] }> = {
  second: { unset: span(0, 0), all: span(0, 59) },
  minute: { unset: span(0, 0), all: span(0, 59) },
  hour: { unset: span(0, 0), all: span(0, 23) },
  dayOfMonth: { unset: span(1, 31), all: span(1, 31) },
  month: { unset: span('JANUARY', 'DECEMBER'), all: span('JANUARY', 'DECEMBER') },
  year: { unset: [], all: [] },
  dayOfWeek: { unset: span('SUNDAY', 'SATURDAY'), all: span('SUNDAY', 'SATURDAY') },
};

type NormalCalendar = Record<CalendarField, Range[]> & { comment: string | undefined };

/** A calendar as given (loose ranges, `*`, omitted fields) or as described (explicit ranges), in one form. */
function normalCalendar(c: CalendarSpec | CalendarSpecDescription): NormalCalendar {
  const field = (name: CalendarField): Range[] => {
    const v = (c as Record<string, unknown>)[name];
    if (v === undefined) return CALENDAR_FIELDS[name].unset;
    if (v === '*') return CALENDAR_FIELDS[name].all;
    return (Array.isArray(v) ? v : [v]).map((x: unknown) => {
      if (typeof x === 'object' && x !== null && 'start' in x) {
        const r = x as { start: unknown; end?: unknown; step?: number };
        return { start: r.start, end: r.end ?? r.start, step: r.step && r.step > 0 ? r.step : 1 };
      }
      return { start: x, end: x, step: 1 };
    });
  };
  return {
    second: field('second'),
    minute: field('minute'),
    hour: field('hour'),
    dayOfMonth: field('dayOfMonth'),
    month: field('month'),
    year: field('year'),
    dayOfWeek: field('dayOfWeek'),
    comment: c.comment || undefined,
  };
}

const rangeText = (rs: Range[]) =>
  rs.length === 0
    ? '*'
    : rs
        .map((r) =>
          r.start === r.end ? String(r.start) : `${r.start}-${r.end}${r.step > 1 ? `/${r.step}` : ''}`,
        )
        .join(',');

function calendarKey(n: NormalCalendar): string {
  const fields = (Object.keys(CALENDAR_FIELDS) as CalendarField[]).map((f) => `${f}=${rangeText(n[f])}`);
  return `${fields.join(' ')}${n.comment ? ` # ${n.comment}` : ''}`;
}

const pad2 = (v: unknown) => String(v).padStart(2, '0');

/** A calendar in words where it is one of the shapes we use, else its fields. */
export function calendarWords(c: CalendarSpec | CalendarSpecDescription): string {
  return normalWords(normalCalendar(c));
}

function normalWords(n: NormalCalendar): string {
  const single = (rs: Range[]) => (rs.length === 1 && rs[0]?.start === rs[0]?.end ? rs[0]?.start : undefined);
  const every = (f: CalendarField) => rangeText(n[f]) === rangeText(CALENDAR_FIELDS[f].all);
  const [sec, min, hour, day] = [single(n.second), single(n.minute), single(n.hour), single(n.dayOfMonth)];
  if (sec === 0 && min !== undefined && every('month') && every('year') && every('dayOfWeek')) {
    if (every('hour') && every('dayOfMonth')) return `hourly at :${pad2(min)}`;
    if (hour !== undefined && every('dayOfMonth')) return `daily at ${pad2(hour)}:${pad2(min)}`;
    if (hour !== undefined && day !== undefined) return `monthly on day ${day} at ${pad2(hour)}:${pad2(min)}`;
  }
  return calendarKey({ ...n, comment: undefined });
}

/** Milliseconds as `7d`, `1h`, `10m`, `30s` (the largest unit that divides it). */
export function durationText(ms: number): string {
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function intervalWords(i: { every: unknown; offset?: unknown }): string {
  const every = Number(i.every);
  const offset = Number(i.offset ?? 0);
  const words =
    every % HOUR === 0
      ? `every ${every / HOUR} hour${every === HOUR ? '' : 's'}`
      : every % MINUTE === 0
        ? `every ${every / MINUTE} minutes`
        : `every ${durationText(every)}`;
  return offset ? `${words} (offset ${durationText(offset)})` : words;
}

/** A schedule's spec in words: its calendars and intervals. */
export function specWords(spec: {
  calendars?: (CalendarSpec | CalendarSpecDescription)[];
  intervals?: { every: unknown; offset?: unknown }[];
}): string {
  return [...(spec.calendars ?? []).map(calendarWords), ...(spec.intervals ?? []).map(intervalWords)].join(
    '; ',
  );
}

/** JSON with object keys sorted and undefined members dropped: decoded payloads compare equal to what we sent. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

interface OwnedPart {
  /** What is compared. */
  key: string;
  /** What is printed. */
  text: string;
}

interface OwnedInput {
  spec: {
    calendars?: (CalendarSpec | CalendarSpecDescription)[];
    intervals?: { every: unknown; offset?: unknown }[];
    timezone?: string;
  };
  action: { workflowType: string; taskQueue?: string; workflowId?: string; args?: readonly unknown[] };
  policies: { overlap?: string; catchupWindow?: unknown };
}

/**
 * The parts of a schedule that apply owns, each as a comparison key and a printable text, from what we send and
 * from describe() alike: describe() returns calendars with every field expanded to ranges, intervals and the
 * catchup window as milliseconds (from protobuf durations), no time zone as '' (UTC), and the args decoded
 * back from payloads (key order and undefined members are not preserved).
 */
function ownedParts(s: OwnedInput): Record<string, OwnedPart> {
  const calendars = (s.spec.calendars ?? []).map(normalCalendar);
  const intervals = (s.spec.intervals ?? []).map((i) => ({
    every: Number(i.every),
    offset: Number(i.offset ?? 0),
  }));
  const catchup = Number(s.policies.catchupWindow ?? 0);
  const plain = (v: string | undefined): OwnedPart => ({ key: v ?? '', text: v ?? '(none)' });
  return {
    calendar: {
      key: calendars.map(calendarKey).join(' | '),
      text: calendars.map(normalWords).join('; ') || '(none)',
    },
    interval: {
      key: intervals.map((i) => `${i.every}+${i.offset}`).join(' | '),
      text: intervals.map(intervalWords).join('; ') || '(none)',
    },
    'time zone': plain(s.spec.timezone || 'UTC'),
    'workflow type': plain(s.action.workflowType),
    args: { key: canonicalJson(s.action.args ?? []), text: canonicalJson(s.action.args ?? []) },
    'task queue': plain(s.action.taskQueue),
    'workflow id': plain(s.action.workflowId),
    overlap: plain(s.policies.overlap ?? 'SKIP'),
    'catchup window': { key: String(catchup), text: durationText(catchup) },
  };
}

/** What differs between a described schedule and the desired one, as `part: old → new` (empty: nothing). */
export function scheduleDifferences(current: ScheduleDescription, desired: DesiredSchedule): string[] {
  const a = ownedParts(current);
  const b = ownedParts(desired);
  return Object.keys(b).flatMap((part) => {
    const [was, now] = [a[part] as OwnedPart, b[part] as OwnedPart];
    if (was.key === now.key) return [];
    return [was.text === now.text ? part : `${part}: ${was.text} → ${now.text}`];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Making the server match
// ---------------------------------------------------------------------------------------------------------------

export type ApplyOutcome = 'created' | 'updated' | 'unchanged' | 'deleted';
export interface ApplyLine {
  scheduleId: string;
  outcome: ApplyOutcome;
  /** updated: what differed; deleted: why. */
  detail?: string;
}

async function describeOrUndefined(handle: ScheduleHandle): Promise<ScheduleDescription | undefined> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** Every schedule id under the prefix. Listing is eventually consistent: a schedule just created may be missing. */
export async function listScheduleIds(target: ScheduleTarget): Promise<string[]> {
  const prefix = target.prefix ?? SCHEDULE_PREFIX;
  const ids: string[] = [];
  for await (const s of target.client.schedule.list())
    if (s.scheduleId.startsWith(prefix)) ids.push(s.scheduleId);
  return [...new Set(ids)].sort();
}

async function applyOne(
  target: ScheduleTarget,
  d: DesiredSchedule,
  opts: { paused?: boolean },
  retried = false,
): Promise<ApplyLine> {
  const handle = target.client.schedule.getHandle(d.scheduleId);
  const current = await describeOrUndefined(handle);
  if (!current) {
    try {
      await target.client.schedule.create({
        scheduleId: d.scheduleId,
        spec: d.spec,
        action: d.action,
        policies: d.policies,
        state: opts.paused ? { paused: true, note: 'created paused by orgtally schedules apply' } : {},
      });
      return { scheduleId: d.scheduleId, outcome: 'created' };
    } catch (err) {
      // created meanwhile by another apply: compare with that one
      if (!(err instanceof ScheduleAlreadyRunning) || retried) throw err;
      return applyOne(target, d, opts, true);
    }
  }
  const diff = scheduleDifferences(current, d);
  if (!diff.length) return { scheduleId: d.scheduleId, outcome: 'unchanged' };
  // Only the parts we own are replaced; the state (paused, note) and anything else is kept as it is.
  await handle.update((prev) => ({
    ...prev,
    spec: { ...prev.spec, ...d.spec },
    action: d.action,
    policies: { ...prev.policies, ...d.policies },
  }));
  return { scheduleId: d.scheduleId, outcome: 'updated', detail: diff.join('; ') };
}

/**
 * Makes the schedules under the prefix match the accounts: creates the missing ones, updates those whose owned
 * parts differ (keeping their state: a paused schedule stays paused), leaves the others alone, and deletes those
 * of accounts that are gone or of kinds we do not know. With `account`, only that account's schedules are touched.
 * Running it twice changes nothing the second time.
 */
export async function applySchedules(
  target: ScheduleTarget,
  accounts: readonly AccountRow[],
  opts: { account?: string; paused?: boolean } = {},
): Promise<ApplyLine[]> {
  const prefix = target.prefix ?? SCHEDULE_PREFIX;
  // computed first: an account we cannot schedule fails the whole apply before anything changes
  const desired = desiredSchedules(accounts, target.taskQueue, { account: opts.account, prefix });
  const wanted = new Set(desired.map((d) => d.scheduleId));
  const known = new Set(accounts.map((a) => a.id));
  const existing = new Set(await listScheduleIds(target));
  const only = opts.account;
  if (only !== undefined) {
    if (!known.has(only) && ![...existing].some((id) => inAccount(id, only, prefix)))
      throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${only}"`);
    // listing lags behind creation: the account's own ids are checked directly too
    for (const kind of ACCOUNT_KINDS) existing.add(scheduleIdOf(kind, only, prefix));
  }

  const lines: ApplyLine[] = [];
  for (const d of desired) lines.push(await applyOne(target, d, opts));

  for (const id of [...existing].sort()) {
    if (wanted.has(id)) continue;
    const parsed = parseScheduleId(id, prefix);
    if (opts.account !== undefined && parsed.accountId !== opts.account) continue;
    const why =
      'unknown' in parsed
        ? 'unknown kind'
        : !known.has(parsed.accountId ?? '')
          ? `account "${parsed.accountId}" is gone`
          : undefined;
    if (!why) continue;
    try {
      await target.client.schedule.getHandle(id).delete();
      lines.push({ scheduleId: id, outcome: 'deleted', detail: why });
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err; // listed but already gone
    }
  }
  return lines;
}

function inAccount(scheduleId: string, accountId: string, prefix: string): boolean {
  return scheduleId.startsWith(`${prefix}${accountId}/`);
}

export function applyLineText(l: ApplyLine): string {
  return `${l.outcome.padEnd(9)} ${l.scheduleId}${l.detail ? ` (${l.detail})` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading and operating
// ---------------------------------------------------------------------------------------------------------------

export interface ScheduleRow {
  id: string;
  kind: string;
  account: string;
  calendar: string;
  timezone: string;
  overlap: string;
  catchupWindow: string;
  taskQueue: string;
  paused: boolean;
  note: string | undefined;
  /** The next three action times (ISO 8601). */
  next: string[];
  /** The most recent action: scheduled for, taken at, workflow id. */
  lastRun: { scheduledAt: string; takenAt: string; workflowId: string } | undefined;
}

export function scheduleRow(d: ScheduleDescription, prefix = SCHEDULE_PREFIX): ScheduleRow {
  const parsed = parseScheduleId(d.scheduleId, prefix);
  const input = (d.action.args?.[0] ?? {}) as Partial<ScheduledRunInput>;
  const last = d.info.recentActions.at(-1);
  return {
    id: d.scheduleId,
    kind: input.kind ?? ('kind' in parsed ? parsed.kind : '?'),
    account: input.accountId ?? parsed.accountId ?? '',
    calendar: specWords(d.spec),
    timezone: d.spec.timezone || 'UTC',
    overlap: d.policies.overlap ?? 'SKIP',
    catchupWindow: durationText(d.policies.catchupWindow),
    taskQueue: d.action.taskQueue,
    paused: d.state.paused,
    note: d.state.note || undefined,
    next: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    lastRun: last && {
      scheduledAt: last.scheduledAt.toISOString(),
      takenAt: last.takenAt.toISOString(),
      workflowId: last.action.workflow.workflowId,
    },
  };
}

/** Every schedule under the prefix, described. */
export async function listSchedules(target: ScheduleTarget): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for (const id of await listScheduleIds(target)) {
    const d = await describeOrUndefined(target.client.schedule.getHandle(id));
    if (d) rows.push(scheduleRow(d, target.prefix));
  }
  return rows;
}

/** A handle to one of our schedules; any other id is refused. */
export function ourSchedule(target: ScheduleTarget, scheduleId: string): ScheduleHandle {
  const prefix = target.prefix ?? SCHEDULE_PREFIX;
  if (!scheduleId.startsWith(prefix))
    throw new OrgtallyError(ErrorType.InvalidInput, `"${scheduleId}" is not an ${prefix} schedule`);
  return target.client.schedule.getHandle(scheduleId);
}

/**
 * Runs the schedule's action now under its own overlap policy. (The SDK's trigger() defaults to ALLOW_ALL, which
 * would start a second run beside a running one.)
 */
export async function triggerSchedule(target: ScheduleTarget, scheduleId: string): Promise<string> {
  const handle = ourSchedule(target, scheduleId);
  const { policies } = await handle.describe();
  const overlap = policies.overlap ?? ScheduleOverlapPolicy.SKIP;
  await handle.trigger(overlap);
  return overlap;
}
