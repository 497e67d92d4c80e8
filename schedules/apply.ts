import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
} from '@temporalio/client';
import { scheduleDifferences } from './compare';
import { ErrorType, OrgtallyError } from '../domain/errors';
import {
  ACCOUNT_KINDS,
  desiredSchedules,
  parseScheduleId,
  scheduleIdOf,
  SCHEDULE_PREFIX,
  type AccountRow,
  type DesiredSchedule,
} from './desired';

/** Making the server match the desired schedules, idempotently, keeping their state (paused stays paused). */

/** Where schedules live: the client, the task queue their runs go to, and the schedule id prefix. */
export interface ScheduleTarget {
  client: Client;
  taskQueue: string;
  /** Default `orgtally/`; tests use their own so they never touch anyone else's schedules. */
  prefix?: string;
}

export type ApplyOutcome = 'created' | 'updated' | 'unchanged' | 'deleted';
export interface ApplyLine {
  scheduleId: string;
  outcome: ApplyOutcome;
  /** updated: what differed; deleted: why. */
  detail?: string;
}

export async function describeOrUndefined(handle: ScheduleHandle): Promise<ScheduleDescription | undefined> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** Every schedule id under the prefix. Listing is eventually consistent: a schedule just created may be missing. */
export async function listScheduleIds(target: ScheduleTarget): Promise<string[]> {
  const prefix = target.prefix ?? SCHEDULE_PREFIX;
  const ids: string[] = [];
  for await (const s of target.client.schedule.list())
    if (s.scheduleId.startsWith(prefix)) ids.push(s.scheduleId);
  return [...new Set(ids)].sort();
}

async function applyOne(
  target: ScheduleTarget,
  d: DesiredSchedule,
  opts: { paused?: boolean },
  retried = false,
): Promise<ApplyLine> {
  const handle = target.client.schedule.getHandle(d.scheduleId);
  const current = await describeOrUndefined(handle);
  if (!current) {
    try {
      await target.client.schedule.create({
        scheduleId: d.scheduleId,
        spec: d.spec,
        action: d.action,
        policies: d.policies,
        state: opts.paused ? { paused: true, note: 'created paused by orgtally schedules apply' } : {},
      });
      return { scheduleId: d.scheduleId, outcome: 'created' };
    } catch (err) {
      // created meanwhile by another apply: compare with that one
      if (!(err instanceof ScheduleAlreadyRunning) || retried) throw err;
      return applyOne(target, d, opts, true);
    }
  }
  const diff = scheduleDifferences(current, d);
  if (!diff.length) return { scheduleId: d.scheduleId, outcome: 'unchanged' };
  // Only the parts we own are replaced; the state (paused, note) and anything else is kept as it is.
  await handle.update((prev) => ({
    ...prev,
    spec: { ...prev.spec, ...d.spec },
    action: d.action,
    policies: { ...prev.policies, ...d.policies },
  }));
  return { scheduleId: d.scheduleId, outcome: 'updated', detail: diff.join('; ') };
}

/**
 * Makes the schedules under the prefix match the accounts: creates the missing ones, updates those whose owned
 * parts differ (keeping their state: a paused schedule stays paused), leaves the others alone, and deletes those
 * of accounts that are gone or of kinds we do not know. With `account`, only that account's schedules are touched.
 * Running it twice changes nothing the second time.
 */
export async function applySchedules(
  target: ScheduleTarget,
  accounts: readonly AccountRow[],
  opts: { account?: string; paused?: boolean } = {},
): Promise<ApplyLine[]> {
  const prefix = target.prefix ?? SCHEDULE_PREFIX;
  // computed first: an account we cannot schedule fails the whole apply before anything changes
  const desired = desiredSchedules(accounts, target.taskQueue, { account: opts.account, prefix });
  const wanted = new Set(desired.map((d) => d.scheduleId));
  const known = new Set(accounts.map((a) => a.id));
  const existing = new Set(await listScheduleIds(target));
  const only = opts.account;
  if (only !== undefined) {
    if (!known.has(only) && ![...existing].some((id) => inAccount(id, only, prefix)))
      throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${only}"`);
    // listing lags behind creation: the account's own ids are checked directly too
    for (const kind of ACCOUNT_KINDS) existing.add(scheduleIdOf(kind, only, prefix));
  }

  const lines: ApplyLine[] = [];
  for (const d of desired) lines.push(await applyOne(target, d, opts));

  for (const id of [...existing].sort()) {
    if (wanted.has(id)) continue;
    const parsed = parseScheduleId(id, prefix);
    if (opts.account !== undefined && parsed.accountId !== opts.account) continue;
    const why =
      'unknown' in parsed
        ? 'unknown kind'
        : !known.has(parsed.accountId ?? '')
          ? `account "${parsed.accountId}" is gone`
          : undefined;
    if (!why) continue;
    try {
      await target.client.schedule.getHandle(id).delete();
      lines.push({ scheduleId: id, outcome: 'deleted', detail: why });
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err; // listed but already gone
    }
  }
  return lines;
}

function inAccount(scheduleId: string, accountId: string, prefix: string): boolean {
  return scheduleId.startsWith(`${prefix}${accountId}/`);
}

export function applyLineText(l: ApplyLine): string {
  return `${l.outcome.padEnd(9)} ${l.scheduleId}${l.detail ? ` (${l.detail})` : ''}`;
}
