import { dayInZone } from './calendar';
import { DAY_MS, HOUR_MS } from './time';

/**
 * Calendar days of alert rules, in an account's time zone. Pure: asOf is an input.
 *
 * - incomplete-day guard: a day is complete when asOf ≥ day end + lateness. Days are calendar days in the
 *   account's time zone (a DST day has 23 or 25 hours; its end is the first instant of the next day there)
 *   and lateness is real elapsed hours. `lastCompleteDay` gives the last complete day; a spike/drop
 *   evaluation of a day that is not complete is refused (not evaluated), never computed on partial data.
 */

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseDay(day: string): number {
  const m = DAY.exec(day);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day)
    throw new Error(`"${day}" is not a day (YYYY-MM-DD)`);
  return ms;
}

/** The calendar day `n` days after `day` (negative: before). */
export function addDays(day: string, n: number): string {
  return new Date(parseDay(day) + n * DAY_MS).toISOString().slice(0, 10);
}

/** An instant as epoch ms: ms as is, or an ISO 8601 string that carries its offset (`Z` or `±hh:mm`). */
export function instantMs(v: number | string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`instant ${v} is not finite`);
    return v;
  }
  const ms = /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/i.test(v.trim()) ? Date.parse(v.trim()) : NaN;
  if (Number.isNaN(ms)) throw new Error(`"${v}" is not an ISO 8601 instant with an offset`);
  return ms;
}

export const isoInstant = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

const formatters = new Map<string, (ms: number) => string>();
/** calendar.ts's dayInZone with one reused Intl formatter per zone (the search below calls it ~27 times). */
function dayFormatter(timeZone: string): (ms: number) => string {
  let f = formatters.get(timeZone);
  if (!f) {
    const fmt = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    f = (ms: number) => {
      const parts = fmt.formatToParts(new Date(ms));
      const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
      return `${get('year')}-${get('month')}-${get('day')}`;
    };
    formatters.set(timeZone, f);
  }
  return f;
}

const dayStarts = new Map<string, number>();

/** The first instant of a calendar day in a time zone (DST-safe: found by search, not by adding hours). */
export function zonedDayStartMs(day: string, timeZone: string): number {
  const key = `${timeZone} ${day}`;
  let start = dayStarts.get(key);
  if (start === undefined) {
    start = searchDayStart(day, timeZone);
    if (dayStarts.size > 10_000) dayStarts.clear(); // a pure cache: bounded, never stale
    dayStarts.set(key, start);
  }
  return start;
}

function searchDayStart(day: string, timeZone: string): number {
  const utcMidnight = parseDay(day);
  // Zone offsets lie within −12 h … +14 h: local midnight is between 14 h before and 12 h after UTC midnight.
  let lo = utcMidnight - 15 * HOUR_MS; // still the day before in every zone
  let hi = utcMidnight + 13 * HOUR_MS; // already this day (or later) in every zone
  const zoneDay = dayFormatter(timeZone);
  const reached = (t: number) => zoneDay(t) >= day;
  if (reached(lo) || !reached(hi)) throw new Error(`cannot find the start of ${day} in ${timeZone}`);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (reached(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The instant a calendar day ends in a time zone: the first instant of the next day there. */
export function zonedDayEndMs(day: string, timeZone: string): number {
  return zonedDayStartMs(addDays(day, 1), timeZone);
}

/** A day is complete once its data may no longer arrive late: asOf ≥ day end + lateness. */
export function isDayComplete(
  dayEnd: number | string,
  latenessHours: number,
  asOf: number | string,
): boolean {
  return instantMs(asOf) >= instantMs(dayEnd) + latenessHours * HOUR_MS;
}

/**
 * The last complete calendar day (YYYY-MM-DD) in the account's time zone at asOf. The day containing
 * asOf − lateness has not ended `lateness` hours ago; the day before it has (it ended at that day's start).
 */
export function lastCompleteDay(asOfMs: number, latenessHours: number, timeZone: string): string {
  return addDays(dayInZone(asOfMs - latenessHours * HOUR_MS, timeZone), -1);
}

/** The exact median: the middle value, or the mean of the two middle values for an even count. */
