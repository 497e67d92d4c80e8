import type { Knex } from 'knex';
import { listDeliveries, type Delivery, type DeliveryStatus } from '../db/deliveries';
import { requireParentLevel, type Scope } from './scope';

/** The mail ledger of the account, newest first: the finance and ops mailboxes are the root org's. */
export async function deliveries(
  db: Knex,
  scope: Scope,
  q: { status?: DeliveryStatus; limit: number },
): Promise<Delivery[]> {
  requireParentLevel(scope, 'deliveries');
  return listDeliveries(db, { accountId: scope.accountId, ...q });
}

/** Every account's ledger (an operator of the deployment, from the CLI: no caller's scope). */
export async function allDeliveries(
  db: Knex,
  q: { status?: DeliveryStatus; limit: number },
): Promise<Delivery[]> {
  return listDeliveries(db, q);
}
