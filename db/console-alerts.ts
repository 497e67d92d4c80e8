import type { Knex } from 'knex';
import type { AlertRuleSpec } from '../domain/spec';

/** The reads of the console's Alerts page that db/alert-reads.ts does not have. */

/** The account's alert rules, as applied (the spec's `alerts`, defaults filled in), by rule id. */
export async function alertRuleDefinitions(db: Knex, accountId: string): Promise<AlertRuleSpec[]> {
  return db('alert_rules')
    .where({ account_id: accountId })
    .orderByRaw('rule_id COLLATE "C"')
    .pluck('definition');
}

/** The account's product codes with their units, for the rule form's product picker. */
export async function productUnits(db: Knex, accountId: string): Promise<{ code: string; unit: string }[]> {
  return db('products').where({ account_id: accountId }).orderBy('code').select('code', 'unit');
}

export interface AlertDeliveryRow {
  event_id: string;
  recipient: string;
  status: string;
  attempts: number;
  last_error: string | null;
  sent_at: Date | null;
}

/** The ledger rows of these alert notices (ids of alert_events the caller may see), one per recipient. */
export async function alertDeliveries(
  db: Knex,
  accountId: string,
  eventIds: readonly string[],
): Promise<AlertDeliveryRow[]> {
  if (!eventIds.length) return [];
  const { rows } = await db.raw(
    `SELECT d.reference->>'eventId' AS event_id, d.recipient, d.status, d.attempts, d.last_error, d.sent_at
       FROM deliveries d
      WHERE d.account_id = ? AND d.kind = 'alert' AND d.reference->>'eventId' = ANY(?::text[])
      ORDER BY d.recipient COLLATE "C", d.id`,
    [accountId, [...eventIds]],
  );
  return rows;
}
