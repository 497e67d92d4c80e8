import { ErrorType, OrgtallyError } from './errors';

/** Month-end periods and names. A month is YYYY-MM in the account's time zone. */
export function isMonth(s: string): boolean {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(s);
}

/** A month named by a caller: YYYY-MM, else a clear, permanent error. */
export function checkMonth(month: string): void {
  if (!isMonth(month)) throw new OrgtallyError(ErrorType.InvalidInput, `month "${month}" is not YYYY-MM`);
}

/** The month before (YYYY-MM). */
export function previousMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}
