import { z } from 'zod';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { isMonth } from '../domain/month-end';
import type { Scope } from '../queries/scope';

/** Pieces shared by the routes' schemas and handlers. */

/** Datadog's "region" of an org: orgtally is one site. */
export const REGION = 'orgtally';

export const orgFields = {
  org_name: z.string(),
  public_id: z.string(),
  region: z.string(),
  account_name: z.string(),
  account_public_id: z.string(),
};

export function orgOf(scope: Scope, publicId: string, name?: string) {
  return {
    org_name: name ?? scope.orgs.get(publicId) ?? publicId,
    public_id: publicId,
    region: REGION,
    account_name: scope.accountName,
    account_public_id: scope.accountId,
  };
}

export const invalid = (message: string) => new OrgtallyError(ErrorType.InvalidInput, message);

const monthIndex = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1;
const monthText = (i: number) => `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;

/** The months from..to, both included; a range backwards or over `max` months is the caller's error. */
export function monthRange(from: string, to: string, toParam: string, max = 24): string[] {
  if (!isMonth(from) || !isMonth(to)) throw invalid(`${toParam}: not a month`);
  const a = monthIndex(from);
  const b = monthIndex(to);
  if (b < a) throw invalid(`${toParam}: ${to} is before the start month ${from}`);
  if (b - a + 1 > max) throw invalid(`${toParam}: at most ${max} months at a time (asked for ${b - a + 1})`);
  return Array.from({ length: b - a + 1 }, (_, i) => monthText(a + i));
}

/** The month (UTC calendar) of an instant: the default "current month" of a parameter. */
export const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

/** A paging position carried by a cursor: an offset into the listing. */
export function offsetOf(value: unknown, param: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  throw invalid(`${param}: is not a cursor this server issued; start again without ${param}`);
}
