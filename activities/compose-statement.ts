import type { Delivery } from '../db/deliveries';
import { readStatement } from '../db/statement';
import { renderStatement } from '../domain/statement-mail';
import type { DeliveryDeps, MailBody } from './deliveries';

/** A client org's statement: its frozen frame (the ledger row) and its version's rows, the same bytes each time. */
export async function composeStatement(deps: DeliveryDeps, d: Delivery): Promise<MailBody> {
  const { model, computedAt } = await readStatement(deps.db, d.account_id, d.reference);
  const mail = renderStatement(model);
  return {
    ...mail,
    date: new Date(computedAt),
    attachments: [],
  };
}
