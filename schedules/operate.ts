import { ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { describeOrUndefined, listScheduleIds, type ScheduleTarget } from './apply';
import type { ScheduledRunInput } from '../workflows/scheduled-run';
import { durationText, specWords } from './compare';
import { parseScheduleId, SCHEDULE_PREFIX } from './desired';

/** Reading and operating the schedules: list, pause, resume, trigger. */

export interface ScheduleRow {
  id: string;
  kind: string;
  account: string;
  calendar: string;
  timezone: string;
  overlap: string;
  catchupWindow: string;
  taskQueue: string;
  paused: boolean;
  note: string | undefined;
  /** The next three action times (ISO 8601). */
  next: string[];
  /** The most recent action: scheduled for, taken at, workflow id. */
  lastRun: { scheduledAt: string; takenAt: string; workflowId: string } | undefined;
}

export function scheduleRow(d: ScheduleDescription, prefix = SCHEDULE_PREFIX): ScheduleRow {
  const parsed = parseScheduleId(d.scheduleId, prefix);
  const input = (d.action.args?.[0] ?? {}) as Partial<ScheduledRunInput>;
  const last = d.info.recentActions.at(-1);
  return {
    id: d.scheduleId,
    kind: input.kind ?? ('kind' in parsed ? parsed.kind : '?'),
    account: input.accountId ?? parsed.accountId ?? '',
    calendar: specWords(d.spec),
    timezone: d.spec.timezone || 'UTC',
    overlap: d.policies.overlap ?? 'SKIP',
    catchupWindow: durationText(d.policies.catchupWindow),
    taskQueue: d.action.taskQueue,
    paused: d.state.paused,
    note: d.state.note || undefined,
    next: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    lastRun: last && {
      scheduledAt: last.scheduledAt.toISOString(),
      takenAt: last.takenAt.toISOString(),
      workflowId: last.action.workflow.workflowId,
    },
  };
}

/** Every schedule under the prefix, described. */
export async function listSchedules(target: ScheduleTarget): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for (const id of await listScheduleIds(target)) {
    const d = await describeOrUndefined(target.client.schedule.getHandle(id));
    if (d) rows.push(scheduleRow(d, target.prefix));
  }
  return rows;
}

/** A handle to one of our schedules; any other id is refused. */
export function ourSchedule(target: ScheduleTarget, scheduleId: string): ScheduleHandle {
  const prefix = target.prefix ?? SCHEDULE_PREFIX;
  if (!scheduleId.startsWith(prefix))
    throw new OrgtallyError(ErrorType.InvalidInput, `"${scheduleId}" is not an ${prefix} schedule`);
  return target.client.schedule.getHandle(scheduleId);
}

/**
 * Runs the schedule's action now under its own overlap policy. (The SDK's trigger() defaults to ALLOW_ALL, which
 * would start a second run beside a running one.)
 */
export async function triggerSchedule(target: ScheduleTarget, scheduleId: string): Promise<string> {
  const handle = ourSchedule(target, scheduleId);
  const { policies } = await handle.describe();
  const overlap = policies.overlap ?? ScheduleOverlapPolicy.SKIP;
  await handle.trigger(overlap);
  return overlap;
}
