import { ErrorType, OrgtallyError } from '../domain/errors';
import { isMonth } from '../domain/month-end';

/**
 * Query parameters of the pages. A bad one is a 400 page that names it and says what it should be; a missing
 * optional one takes the page's default.
 */
export const badParam = (name: string, message: string) =>
  new OrgtallyError(ErrorType.InvalidInput, `${name}: ${message}`);

export function monthQ(q: Record<string, string | undefined>, name = 'month'): string | undefined {
  const v = q[name];
  if (v === undefined || v === '') return undefined;
  if (!isMonth(v)) throw badParam(name, `"${v}" is not a month; give it as YYYY-MM, e.g. 2026-10`);
  return v;
}

export function dayQ(q: Record<string, string | undefined>, name = 'day'): string | undefined {
  const v = q[name];
  if (v === undefined || v === '') return undefined;
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(v) ||
    Number.isNaN(Date.parse(`${v}T00:00:00Z`)) ||
    new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) !== v
  )
    throw badParam(name, `"${v}" is not a day; give it as YYYY-MM-DD, e.g. 2026-10-01`);
  return v;
}

export function oneOf<T extends string>(
  q: Record<string, string | undefined>,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = q[name];
  if (v === undefined || v === '') return fallback;
  if (!(allowed as readonly string[]).includes(v))
    throw badParam(name, `"${v}" is not one of ${allowed.join(', ')}`);
  return v as T;
}

/** The UTC month of an instant: the month-to-date one. */
export const monthOfInstant = (ms: number): string => new Date(ms).toISOString().slice(0, 7);
