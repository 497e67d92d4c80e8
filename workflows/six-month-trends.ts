import { proxyActivities } from '@temporalio/workflow';
import type { Activities, TrendsResult } from '../activities';
import { NON_RETRYABLE } from '../domain/errors';

const { computeTrends } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '1 minute',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

export interface SixMonthTrendsInput {
  accountId: string;
  /** The last month of the window, YYYY-MM. */
  month: string;
}

/**
 * Id `trends/<account>/<month>`: the six months ending at `month`, from each month's latest month-end version;
 * nothing is written when those versions are unchanged. Run by monthEndClose and on its own (schedules).
 */
export async function sixMonthTrends(input: SixMonthTrendsInput): Promise<TrendsResult> {
  return computeTrends(input);
}
