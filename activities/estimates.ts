import type { Knex } from 'knex';
import {
  evaluateAlerts as evaluate,
  pendingAlertDeliveries as pending,
  type AlertRunResult,
} from '../db/alerts';
import { computeEstimates as compute, type EstimateResult } from '../db/estimates';
import { refreshRollup as refresh, type RollupResult } from '../db/usage-rollup';
import { asActivity, withHeartbeat } from './failures';

export interface EstimatesDeps {
  db: Knex;
  mailDomain: string;
}

export function estimateActivities(deps: EstimatesDeps) {
  return {
    /** Rolls up every batch ingested since the last refresh (only the hours those batches touched). */
    refreshRollup: (): Promise<RollupResult> => asActivity(() => withHeartbeat(() => refresh(deps.db))),
    computeEstimates: (input: { accountId: string; asOf: string }): Promise<EstimateResult> =>
      asActivity(() => withHeartbeat(() => compute(deps.db, input.accountId, input.asOf))),
    /** Evaluates the alert rules; state changes, events and ledger rows are one transaction. */
    evaluateAlerts: (input: { accountId: string; asOf: string }): Promise<AlertRunResult> =>
      asActivity(() => withHeartbeat(() => evaluate(deps.db, input, deps.mailDomain))),
    pendingAlertDeliveries: (input: {
      accountId: string;
      withinMs: number;
    }): Promise<{ id: string; recipient: string }[]> =>
      asActivity(() => pending(deps.db, input.accountId, input.withinMs)),
  };
}
