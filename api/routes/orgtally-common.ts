import { z } from 'zod';
import { invalid } from '../schemas';

/** What orgtally's own endpoints share: their prefix, decimal strings, ISO instants, a month in the path. */
export const BASE = '/api/orgtally/v1';
export const decimal = z.string();
export const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
export const monthPath = z.strictObject({ month: z.string() });
export const orgQuery = { org: z.string().optional() };

export function checkedMonth(m: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(m)) throw invalid(`month: "${m}" is not a month (YYYY-MM)`);
  return m;
}
