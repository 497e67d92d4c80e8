/** Instants are handled as epoch milliseconds (UTC); calendars in an account's zone live in the calendar module. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

export type HourResult = { ok: true; hourMs: number } | { ok: false; detail: string };

/**
 * An ISO 8601 timestamp truncated to its UTC hour. A timestamp without offset is UTC (as in Datadog's
 * `formatted_timestamp`). Impossible dates (2026-02-30, 25:00) are errors, not rolled over.
 */
export function parseHour(input: unknown): HourResult {
  if (typeof input !== 'string')
    return { ok: false, detail: `timestamp ${JSON.stringify(input) ?? 'missing'} is not a string` };
  const m = ISO.exec(input.trim());
  if (!m) return { ok: false, detail: `timestamp "${input}" is not ISO 8601` };
  const [, y, mo, d, h = '0', mi = '0', s = '0', , off] = m;
  const year = Number(y),
    month = Number(mo),
    day = Number(d),
    hour = Number(h),
    minute = Number(mi),
    second = Number(s);
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(local);
  if (
    month < 1 ||
    month > 12 ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day
  ) {
    return { ok: false, detail: `timestamp "${input}" is not a valid date and time` };
  }
  let offsetMin = 0;
  if (off && off.toUpperCase() !== 'Z') {
    const sign = off.startsWith('-') ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2)),
      om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return { ok: false, detail: `timestamp "${input}" has an invalid offset` };
    offsetMin = sign * (oh * 60 + om);
  }
  const instant = local - offsetMin * 60_000;
  return { ok: true, hourMs: Math.floor(instant / HOUR_MS) * HOUR_MS };
}

export function isoHour(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const DURATION = /^(\d+)\s*(h|d)$/;
/** "72h" / "3d" → hours. */
export function parseDurationHours(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'd' ? 24 : 1);
}

/** An instant as Datadog's API writes it, and both of its official clients read it: `2026-10-01T00:00:00+00:00`. */
export const datadogTime = (ms: number | string): string =>
  new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
