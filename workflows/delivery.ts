import { proxyActivities } from '@temporalio/workflow';
import type { Activities, DeliveryResult } from '../activities';
import { mailOptions } from './activity-options';

export interface DeliveryInput {
  deliveryId: string;
  /** How long transient failures (SMTP down, 4xx) are retried, in ms; default 24 h. */
  retryWindowMs?: number;
  /** First retry interval in ms, doubled up to 15 minutes; default 5 s. */
  initialRetryMs?: number;
}

/**
 * Id `delivery/<ledger id>`: send one mail of the ledger. Exactly once comes from the ledger (sendDelivery
 * locks the row and never sends a row marked sent); this workflow adds patient retries with backoff.
 */
export async function delivery(input: DeliveryInput): Promise<DeliveryResult> {
  const { sendDelivery } = proxyActivities<Activities>(mailOptions(input));
  return sendDelivery({ deliveryId: input.deliveryId });
}
