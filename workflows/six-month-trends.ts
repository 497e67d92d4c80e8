import { proxyActivities } from '@temporalio/workflow';
import type { Activities, TrendsResult } from '../activities';
import { SQL_QUICK_WORK } from './activity-options';

const { computeTrends } = proxyActivities<Activities>(SQL_QUICK_WORK);

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
