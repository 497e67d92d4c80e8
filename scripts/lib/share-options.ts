import { ErrorType, OrgtallyError } from '../../domain/errors';
import { durationHours, emailAddress, instant } from './options';

/**
 * The options of `dashboards share`, checked before anything is written. What needs the database (a lock's tag
 * key, a title's length, an expiry in the past) is checked in queries/shares.ts, whose errors name the API's
 * field; `asShareOptions` renames that field to the option a person typed.
 */

/** `--lock key=value`, repeated: the locked filters, one value per key. */
export function lockOptions(list: readonly string[]): Record<string, string> {
  const locks: Record<string, string> = {};
  for (const text of list) {
    const eq = text.indexOf('=');
    const key = text.slice(0, eq).trim();
    if (eq < 0 || !key)
      throw new Error(`--lock must be key=value with a tag key, e.g. env=prod, not "${text}"`);
    if (key in locks) throw new Error(`--lock: ${key} is locked twice; give each tag key once`);
    locks[key] = text.slice(eq + 1);
  }
  return locks;
}

/** `--expires`: a duration from now (30d, 12h; 1h to 366d) or an ISO 8601 date-time, as an instant. */
export function expiryOption(text: string, now: number): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return instant(text.trim(), '--expires');
  try {
    return new Date(now + durationHours(text, '--expires') * 3_600_000).toISOString();
  } catch (cause) {
    throw new Error(
      `--expires must be a duration like "30d" or "12h" (1h to 366d) or an ISO 8601 date-time ` +
        `like 2027-06-30T00:00:00Z, not "${text}"`,
      { cause },
    );
  }
}

/** `--invite`, repeated or comma-separated: the invited addresses (a share with any is invite-only). */
export function inviteOptions(list: readonly string[]): { email: string }[] {
  return list.map((e) => ({ email: emailAddress(e, '--invite') }));
}

// The API's field names in queries/shares.ts errors, and the option each comes from.
const FIELD_OPTIONS: [RegExp, string][] = [
  [/^title:/, '--title:'],
  [/^locks:/, '--lock:'],
  [/^expiration:/, '--expires:'],
  [/^invitees(\[\d+\]\.email)?:/, '--invite:'],
  [/^show_cost:/, '--show-cost:'],
];

/** An input error of a share, reworded to name the option; any other error as it was. */
export function asShareOptions(err: unknown): never {
  if (err instanceof OrgtallyError && err.type === ErrorType.InvalidInput)
    for (const [field, option] of FIELD_OPTIONS)
      if (field.test(err.message))
        throw new OrgtallyError(err.type, err.message.replace(field, option), { cause: err });
  throw err;
}
