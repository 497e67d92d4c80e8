import { dec } from './exact';
import { MONTHS } from './human-time';
import { exactQuantity as quantityText } from './money';
import { unitFor } from './units';

export { pluralUnit, unitFor } from './units';
export { quantityText };

/**
 * The words of an alert mail: quantities with their unit pluralised, dates and instants in the account's time
 * zone written for people, the window of a notice in words, and text wrapped for a plain-text mail. Pure and
 * locale-free (own month and weekday names), so the same event always reads the same.
 */

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** `203 hosts`, `1 host`, `12.5 GB`, `1,234 million events`. */
export function qty(v: string, unit: string): string {
  return unit ? `${quantityText(v)} ${unitFor(unit, v)}` : quantityText(v);
}

/** With its sign: `+96 GB`, `-19.2 GB`, `0 GB`. */
export function signedQty(v: string, unit: string): string {
  return `${dec(v).n > 0n ? '+' : ''}${qty(v, unit)}`;
}

/** `2026-10` → `October 2026`. */
export function monthWords(month: string): string {
  const [y, m] = month.split('-');
  return `${MONTHS[Number(m) - 1] ?? month} ${y}`;
}

interface DayParts {
  y: number;
  m: number;
  d: number;
}

const dayParts = (day: string): DayParts => {
  const [y, m, d] = day.split('-').map(Number);
  return { y: y as number, m: m as number, d: d as number };
};

const weekday = (p: DayParts): string =>
  WEEKDAYS[new Date(Date.UTC(p.y, p.m - 1, p.d)).getUTCDay()] as string;

/** `2026-10-16` → `Friday 16 October 2026`. */
export function dayWords(day: string): string {
  const p = dayParts(day);
  return `${weekday(p)} ${p.d} ${MONTHS[p.m - 1]} ${p.y}`;
}

/** `2026-10-16` → `Fri 16 Oct 2026` (`year: false`: `Fri 16 Oct`). */
export function shortDay(day: string, opts: { year?: boolean } = {}): string {
  const p = dayParts(day);
  const s = `${weekday(p).slice(0, 3)} ${p.d} ${(MONTHS[p.m - 1] as string).slice(0, 3)}`;
  return opts.year === false ? s : `${s} ${p.y}`;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar day and the clock time of an instant in a time zone: `{ day: '2026-10-16', time: '23:00' }`. */
export function zoned(ms: number, timeZone: string): { day: string; time: string } {
  let f = zoneFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    zoneFormats.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return { day: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}` };
}

/** `Tue 20 Oct 2026, 12:00 UTC` (the zone's name as the account spells it). */
export function instantWords(iso: string, timeZone: string): string {
  const z = zoned(Date.parse(iso), timeZone);
  return `${shortDay(z.day)}, ${z.time} ${timeZone}`;
}

/** The window of a notice in words: `October 2026 to date`, `the day Friday 16 October 2026`, … */
export function windowWords(kind: string, window: string, timeZone: string): string {
  if (kind === 'threshold') {
    const m = /^(\d{4}-\d{2})(@.*)?$/.exec(window);
    if (m)
      return m[2] ? `${monthWords(m[1] as string)}, projected to its end` : `${monthWords(window)} to date`;
  }
  if ((kind === 'spike' || kind === 'drop') && /^\d{4}-\d{2}-\d{2}$/.test(window))
    return `the day ${dayWords(window)}`;
  if (kind === 'stall' && !Number.isNaN(Date.parse(window)))
    return `since ${instantWords(window, timeZone)} (the last hour with data)`;
  return window;
}

/** A line may not break between a number and its unit, nor between a currency code and its amount. */
const glued = (a: string, b: string): boolean =>
  /\d$/.test(a) || (/^[+-]?[A-Z]{3}$/.test(a) && /^\d/.test(b));

/** The same rule for HTML: no-break spaces where a line may not break (`564 GB`, `USD 164.10`). */
export const noBreaks = (s: string): string =>
  s.replace(/(\d) (?=\S)/g, '$1\u00a0').replace(/(^|[\s(+-])([A-Z]{3}) (?=\d)/g, '$1$2\u00a0');

/** Greedy word wrap: lines of at most `width` columns (a longer word stands alone), `indent` before the rest. */
export function wrap(s: string, width = 78, indent = ''): string[] {
  // Words glued together (`564 GB`, `USD 164.10`) move to the next line as one.
  const words: string[] = [];
  for (const w of s.split(/\s+/).filter(Boolean)) {
    const prev = words[words.length - 1];
    if (prev !== undefined && glued(prev.split(' ').pop() as string, w))
      words[words.length - 1] = `${prev} ${w}`;
    else words.push(w);
  }
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const pre = lines.length ? indent : '';
    if (line && pre.length + line.length + 1 + word.length > width) {
      lines.push(pre + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line || !lines.length) lines.push((lines.length ? indent : '') + line);
  return lines;
}
