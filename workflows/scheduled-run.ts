import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { HOUR_MS, isoHour } from '../domain/time';
import { attributeDays, scheduledTime, startOrWait } from './children';
import { workflowIds } from '../domain/workflow-ids';
import { QUICK_READ } from './activity-options';

const { accountClock } = proxyActivities<Activities>(QUICK_READ);

export const SCHEDULED_KINDS = ['ingest', 'attribution', 'estimates', 'month-end', 'trends'] as const;
export type ScheduledKind = (typeof SCHEDULED_KINDS)[number];

export interface ScheduledRunInput {
  kind: ScheduledKind;
  /** Every kind but `ingest` (the drop folder is shared by all accounts). */
  accountId?: string;
  /** Days attributed at once (attribution). */
  concurrency?: number;
}

export interface ScheduledRunResult {
  kind: ScheduledKind;
  /** The scheduled time the run computed its period from. */
  at: string;
  /** The workflows it ran, by id. */
  ran: string[];
}

/**
 * What every Temporal Schedule starts. It computes its period from its SCHEDULED time (never the wall clock: a run
 * delayed by an outage or caught up later still does the period it was scheduled for) and runs the real work as a
 * child under the work's own idempotency id — `attribution/<account>/<day>`, `estimates/<account>/<hour>`,
 * `month-end/<account>/<month>`, `trends/<account>/<month>`, `ingest-drop/<instant>` — so a schedule and an
 * operator doing the same thing meet on the same workflow id instead of doing it twice.
 *
 * - ingest: the drop folder as of the scheduled time.
 * - attribution: the day before the scheduled day (account time zone) and every earlier day with pending late data.
 * - estimates: the hour of the scheduled time.
 * - month-end, trends: the month before the scheduled month (the schedule fires after the lateness window).
 */
export async function scheduledRun(input: ScheduledRunInput): Promise<ScheduledRunResult> {
  const at = scheduledTime().toISOString();
  const accountId = input.accountId ?? '';
  const clock = async () => accountClock({ accountId, at });
  switch (input.kind) {
    case 'ingest': {
      const id = workflowIds.ingestDropFolder(at);
      await startOrWait('ingestDropFolder', id, { asOf: at });
      return { kind: input.kind, at, ran: [id] };
    }
    case 'attribution': {
      const c = await clock();
      const days = [...new Set([...c.pendingDays, c.previousDay])].sort();
      await attributeDays(accountId, days, input.concurrency ?? 4);
      return { kind: input.kind, at, ran: days.map((d) => workflowIds.dailyAttribution(accountId, d)) };
    }
    case 'estimates': {
      const hour = isoHour(Math.floor(Date.parse(at) / HOUR_MS) * HOUR_MS);
      const id = workflowIds.usageEstimates(accountId, hour);
      await startOrWait('usageEstimates', id, { accountId, asOf: hour });
      return { kind: input.kind, at, ran: [id] };
    }
    case 'month-end': {
      const { previousMonth: month } = await clock();
      const id = workflowIds.monthEndClose(accountId, month);
      await startOrWait('monthEndClose', id, { accountId, month, asOf: at });
      return { kind: input.kind, at, ran: [id] };
    }
    case 'trends': {
      const { previousMonth: month } = await clock();
      const id = workflowIds.sixMonthTrends(accountId, month);
      await startOrWait('sixMonthTrends', id, { accountId, month });
      return { kind: input.kind, at, ran: [id] };
    }
  }
}
