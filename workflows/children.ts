import { executeChild, sleep, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { workflowIds } from '../domain/workflow-ids';

/** Set by Temporal on every run a Schedule starts: the time the run was scheduled for (not when it started). */
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/**
 * The instant a run works for: its scheduled time when a Schedule started it (a delayed or caught-up run still
 * computes the period it was scheduled for), else the time this run started.
 */
export function scheduledTime(): Date {
  return workflowInfo().typedSearchAttributes.get(SCHEDULED_START) ?? workflowInfo().runStartTime;
}

/**
 * Runs a child workflow under its idempotency id. When that id is already running elsewhere (a schedule, an
 * operator), waits for it to finish and runs it again, so the result reflects the latest data.
 */
export async function startOrWait<R>(workflowType: string, workflowId: string, arg: unknown): Promise<R> {
  for (;;) {
    try {
      return (await executeChild(workflowType, { workflowId, args: [arg] })) as R;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      await sleep('10 seconds');
    }
  }
}

/** Child dailyAttribution per day, `concurrency` at a time; a day already being attributed is waited for. */
export async function attributeDays(accountId: string, days: string[], concurrency: number): Promise<void> {
  const queue = [...days];
  const lane = async () => {
    for (let day = queue.shift(); day !== undefined; day = queue.shift()) {
      await startOrWait('dailyAttribution', workflowIds.dailyAttribution(accountId, day), { accountId, day });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
}
