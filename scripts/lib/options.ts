import { isPermission, PERMISSION_NAMES, type Permission } from '../../domain/access';
import { parseDurationHours } from '../../domain/time';

/** Option values checked once, each error naming the option and what it takes. */
export function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(
      `${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, not "${value}"`,
    );
  return value as T;
}

export function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1)
    throw new Error(`${flag} must be a whole number from 1, not "${text}"`);
  return n;
}

/** "a,b, c" (and repeated flags): the items, trimmed, empty ones dropped. */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A comma-separated list of permission names, each one known; the error lists every name there is. */
export function permissionList(text: string, flag: string): Permission[] {
  const names = commaList(text);
  if (!names.length)
    throw new Error(`${flag} needs at least one permission (${PERMISSION_NAMES.join(', ')})`);
  const bad = names.filter((n) => !isPermission(n));
  if (bad.length)
    throw new Error(
      `${flag}: unknown permission${bad.length > 1 ? 's' : ''} ${bad.map((b) => `"${b}"`).join(', ')} ` +
        `(permissions: ${PERMISSION_NAMES.join(', ')})`,
    );
  return [...new Set(names as Permission[])];
}

/** "90d" / "12h": a positive duration of at most 366 days, in hours. */
export function durationHours(text: string, flag: string): number {
  const hours = parseDurationHours(text);
  if (hours === undefined || hours < 1 || hours > 366 * 24)
    throw new Error(`${flag} must be a duration like "90d" or "12h", from 1h to 366d, not "${text}"`);
  return hours;
}

/** An ISO 8601 instant, returned as written (Postgres reads it). */
export function instant(text: string, flag: string): string {
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(Date.parse(text)))
    throw new Error(`${flag} must be an ISO 8601 instant like 2026-12-01T00:00:00Z, not "${text}"`);
  return new Date(Date.parse(text)).toISOString();
}

/** A TCP port: 0 (any free one) to 65535. */
export function tcpPort(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535)
    throw new Error(`${flag} must be a TCP port (0-65535), not "${text}"`);
  return n;
}

/** A rough check that catches a name or a list where one address belongs; the mail rules live in the spec. */
export function emailAddress(text: string, flag: string): string {
  const e = text.trim().toLowerCase();
  if (!/^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/.test(e))
    throw new Error(`${flag} must be one e-mail address, e.g. "ops@example.com", not "${text}"`);
  return e;
}
