import type { Knex } from 'knex';
import { planDeliveries, type Delivery } from '../db/deliveries';
import { statementReferences } from '../db/statement';
import { statementDedupeKey } from '../domain/statement';
import { asActivity } from './failures';
import type { VersionRef } from './month-end';

export interface StatementDeps {
  db: Knex;
  mailDomain: string;
}

export type PlannedStatement = Pick<Delivery, 'id' | 'recipient' | 'status'> & { org: string };

export function statementActivities(deps: StatementDeps) {
  return {
    /**
     * One ledger row per client org with a billing contact, for this version (kind `statement`); a row planned
     * before is kept as it is (its frame included), so a re-run plans nothing new and a re-send is the same mail.
     */
    planStatementDeliveries: (ref: VersionRef): Promise<PlannedStatement[]> =>
      asActivity(async () => {
        const planned = await statementReferences(deps.db, ref);
        const rows = await planDeliveries(
          deps.db,
          planned.map(({ recipient, reference }) => ({
            dedupeKey: statementDedupeKey(ref.accountId, reference, recipient),
            kind: 'statement' as const,
            accountId: ref.accountId,
            reference,
            recipient,
          })),
          deps.mailDomain,
        );
        return rows.map(({ id, recipient, status, reference }) => ({
          id,
          org: String(reference.org),
          recipient,
          status,
        }));
      }),
  };
}
