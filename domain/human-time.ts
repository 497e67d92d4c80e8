/** Dates as a reader says them, in the account's time zone: "30 November 2026", "4 December 2026, 00:00 UTC". */

export const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** `2026-11` → `November 2026`. */
export function monthName(month: string): string {
  const [y, m] = month.split('-');
  return `${MONTHS[Number(m) - 1] ?? m} ${y}`;
}

/** `2026-11` → `Nov 2026`. */
export function shortMonth(month: string): string {
  const [y, m] = month.split('-');
  return `${(MONTHS[Number(m) - 1] ?? String(m)).slice(0, 3)} ${y}`;
}

function parts(iso: string, timeZone: string): Record<string, string> {
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return Object.fromEntries(f.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
}

/**
 * `4 December 2026, 00:00 UTC`, or `…, 19:00 America/New_York`: the zone by the name the account's spec and the
 * mail's footer use, never ICU's `GMT-5` (which also hides daylight saving).
 */
export function humanInstant(iso: string, timeZone: string): string {
  const p = parts(iso, timeZone);
  return `${p.day} ${p.month} ${p.year}, ${p.hour}:${p.minute} ${timeZone === 'Etc/UTC' ? 'UTC' : timeZone}`;
}

/** `4 December 2026`. */
export function humanDay(iso: string, timeZone: string): string {
  const p = parts(iso, timeZone);
  return `${p.day} ${p.month} ${p.year}`;
}

/**
 * How far data is complete, from an exclusive end instant: midnight in the zone is "the end of" the day before
 * (an end of 2026-12-01T00:00 reads "through 30 November 2026", never like December); otherwise the hour.
 */
export function completeThrough(iso: string, timeZone: string): string {
  const p = parts(iso, timeZone);
  if (p.hour === '00' && p.minute === '00') {
    return `through ${humanDay(new Date(Date.parse(iso) - 1).toISOString(), timeZone)}`;
  }
  return `up to ${humanInstant(iso, timeZone)}`;
}
