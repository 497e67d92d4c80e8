import type { CalendarSpec, CalendarSpecDescription, ScheduleDescription } from '@temporalio/client';
import { DAY, HOUR, MINUTE, type DesiredSchedule } from './desired';

/** Schedules as the server describes them and as we want them, compared on what we own, and put in words. */

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
