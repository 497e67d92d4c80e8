import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities, AttributeResult, ExportedFile } from '../activities';
import { SQL_WORK } from './activity-options';

const { attributeDay, exportDay, reconcileDay } = proxyActivities<Activities>(SQL_WORK);

export interface DailyAttributionInput {
  accountId: string;
  /** Calendar day in the account's time zone, YYYY-MM-DD. */
  day: string;
  /** Recompute with the newest tag keys instead of those in effect on the day. */
  restateTags?: boolean;
}

export interface DailyAttributionResult {
  attribution: AttributeResult;
  files: Pick<ExportedFile, 'product' | 'file' | 'rows' | 'sha256'>[];
  reconciledRows: number;
}

/**
 * Id `attribution/<account>/<day>`: attribute the day's facts, write the daily TSVs, reconcile them — one
 * activity, one snapshot. Histories recorded before that ran three activities and still replay.
 */
export async function dailyAttribution(input: DailyAttributionInput): Promise<DailyAttributionResult> {
  if (patched('attribution-day-one-activity')) {
    const { files = [], ...attribution } = await attributeDay(input);
    return {
      attribution,
      files: files.map(({ product, file, rows, sha256 }) => ({ product, file, rows, sha256 })),
      reconciledRows: files.reduce((n, f) => n + f.rows, 0),
    };
  }
  const attribution = await attributeDay(input);
  const files = await exportDay({ accountId: input.accountId, day: input.day });
  const { checkedRows } = await reconcileDay({ accountId: input.accountId, day: input.day, files });
  return {
    attribution,
    files: files.map(({ product, file, rows, sha256 }) => ({ product, file, rows, sha256 })),
    reconciledRows: checkedRows,
  };
}
