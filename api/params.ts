import { z } from 'zod';
import { ErrorType, OrgtallyError } from '../domain/errors';

/**
 * Query parameters as Datadog's clients send them. Dates arrive as full ISO 8601 datetimes even for months
 * (`2026-10-01T00:00:00.000Z`, `…+00:00`, `…Z`): any ISO 8601 is accepted and truncated. A month or a day is
 * read as written (its date part); an hour is an instant, floored to the hour in UTC.
 */
const ISO =
  /^(\d{4})-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?)?)?$/;

function parts(v: string): RegExpExecArray | undefined {
  const m = ISO.exec(v.trim());
  if (!m) return undefined;
  const [, , mo, d] = m;
  if (Number(mo) < 1 || Number(mo) > 12) return undefined;
  if (d !== undefined && Number.isNaN(Date.parse(`${m[1]}-${mo}-${d}T00:00:00Z`))) return undefined;
  return m;
}

const dateHint = 'an ISO 8601 date, e.g. 2026-10 or 2026-10-01T00:00:00+00:00';

export const monthParam = z.string().transform((v, ctx) => {
  const m = parts(v);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not ${dateHint}` });
    return z.NEVER;
  }
  return `${m[1]}-${m[2]}`;
});

export const dayParam = z.string().transform((v, ctx) => {
  const m = parts(v);
  if (!m || m[3] === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not an ISO 8601 day, e.g. 2026-10-01` });
    return z.NEVER;
  }
  return `${m[1]}-${m[2]}-${m[3]}`;
});

/** An hour, as the instant (ms) of its start. */
export const hourParam = z.string().transform((v, ctx) => {
  const m = parts(v);
  const ms = m ? Date.parse(m[3] === undefined ? `${m[1]}-${m[2]}-01T00:00:00Z` : normalized(v)) : NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not an ISO 8601 hour, e.g. 2026-10-01T13:00:00+00:00`,
    });
    return z.NEVER;
  }
  return Math.floor(ms / 3_600_000) * 3_600_000;
});

// Date.parse wants a zone designator with a colon and reads a date-time without one as local time: make both explicit.
function normalized(v: string): string {
  let t = v.trim().replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) t += 'T00:00:00';
  if (/T\d{2}$/.test(t)) t += ':00';
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(t)) t += 'Z';
  return t.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
}

export const boolParam = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((v) => v === 'true');

/** A comma-separated list (Python's client sends lists that way). */
export const listParam = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);

export const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);

/** `2026-10-01T00:00:00+00:00`: the one date-time format both Datadog clients read. */
export { datadogTime as ddTime } from '../domain/time';

/** A repeated parameter is a mistake to report, not a list to guess at (the API and the pages alike). */
export function onceEach(q: Record<string, unknown>): Record<string, string | undefined> {
  for (const [k, v] of Object.entries(q))
    if (Array.isArray(v))
      throw new OrgtallyError(ErrorType.InvalidInput, `${k}: give it once (it was given ${v.length} times)`);
  return q as Record<string, string | undefined>;
}
