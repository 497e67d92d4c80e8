import { Client, Connection } from '@temporalio/client';

export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
}

/** Workflow ids are idempotency keys: one place builds them. */
export const workflowIds = {
  ingestDropFolder: (asOfIso: string) => `ingest-drop/${asOfIso}`,
  dailyAttribution: (accountId: string, day: string) => `attribution/${accountId}/${day}`,
  monthEndClose: (accountId: string, month: string) => `month-end/${accountId}/${month}`,
  sixMonthTrends: (accountId: string, month: string) => `trends/${accountId}/${month}`,
  /** hourIso: the estimated hour, `YYYY-MM-DDThh:00:00Z` (isoHour). */
  usageEstimates: (accountId: string, hourIso: string) => `estimates/${accountId}/${hourIso}`,
};
