import { ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities, AlertNotice, EstimateResult, RollupResult } from '../activities';
import type { DeliveryInput } from './delivery';
import { workflowIds } from '../domain/workflow-ids';
import { SQL_QUICK_WORK } from './activity-options';

const { refreshRollup, computeEstimates, evaluateAlerts, pendingAlertDeliveries } =
  proxyActivities<Activities>(SQL_QUICK_WORK);

export interface UsageEstimatesInput {
  accountId: string;
  /** The hour estimated for (data of earlier hours); default: this run's start time (the schedule's). */
  asOf?: string;
  /** Retry settings handed to each delivery (tests shorten them). */
  delivery?: Pick<DeliveryInput, 'retryWindowMs' | 'initialRetryMs'>;
}

export interface UsageEstimatesResult {
  rollup: RollupResult;
  estimate: EstimateResult;
  alerts: { evaluated: number; notEvaluated: number; firing: number; notices: AlertNotice[] };
  /** Delivery workflows started (`delivery/<ledger id>`); they run on their own, for up to the retry window. */
  deliveries: { id: string; recipient: string; started: boolean }[];
}

const DAY_MS = 24 * 3_600_000;

/**
 * Id `estimates/<account>/<hour>`: roll up the usage ingested since the last run, store the month-to-date and
 * projected figures, evaluate the alert rules and start one `delivery/<ledger id>` per pending alert mail. The
 * deliveries outlive this run (ABANDON): an hourly run never waits a day for a mail server; a delivery already
 * running (started by an earlier hour) is left to finish.
 */
export async function usageEstimates(input: UsageEstimatesInput): Promise<UsageEstimatesResult> {
  const asOf = input.asOf ?? workflowInfo().runStartTime.toISOString();
  const rollup = await refreshRollup();
  const estimate = await computeEstimates({ accountId: input.accountId, asOf });
  const { evaluated, notEvaluated, firing, notices } = await evaluateAlerts({
    accountId: input.accountId,
    asOf,
  });
  const retryWindowMs = input.delivery?.retryWindowMs ?? DAY_MS;
  const pending = await pendingAlertDeliveries({ accountId: input.accountId, withinMs: retryWindowMs });
  const deliveries = [];
  for (const d of pending) {
    try {
      await startChild('delivery', {
        workflowId: workflowIds.delivery(d.id),
        args: [{ deliveryId: d.id, ...input.delivery }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      deliveries.push({ ...d, started: true });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      deliveries.push({ ...d, started: false });
    }
  }
  return { rollup, estimate, alerts: { evaluated, notEvaluated, firing, notices }, deliveries };
}
