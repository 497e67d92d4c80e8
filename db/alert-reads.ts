import type { Knex } from 'knex';
import { type AlertKind } from '../domain/alerts';
import { ErrorType, OrgtallyError } from '../domain/errors';
import type { AlertNotice } from './alerts';

/** The account's alert states and notices, as reports and the delivery of a notice read them. */

export interface AlertStateRow {
  rule_id: string;
  scope_key: string;
  state: 'ok' | 'firing';
  window: string | null;
  last_notified_at: Date | null;
  message: string;
  updated_at: Date;
}

export async function listAlertStates(
  db: Knex,
  accountId: string,
  opts: { all?: boolean } = {},
): Promise<AlertStateRow[]> {
  return db('alert_states')
    .where({ account_id: accountId })
    .modify((q) => {
      if (!opts.all) q.where({ state: 'firing' });
    })
    .orderByRaw('rule_id COLLATE "C", scope_key COLLATE "C"')
    .select('rule_id', 'scope_key', 'state', 'window', 'last_notified_at', 'message', 'updated_at');
}

export interface AlertEventRow {
  id: string;
  event_key: string;
  account_id: string;
  rule_id: string;
  kind: AlertKind;
  scope_key: string;
  notify: AlertNotice['notify'];
  window: string;
  as_of: Date;
  message: string;
  details: Record<string, unknown>;
  created_at: Date;
  deliveries?: { recipient: string; status: string }[];
}

const EVENT_COLS = `e.id::text AS id, e.event_key, e.account_id, e.rule_id, e.kind, e.scope_key, e.notify, e."window",
  e.as_of, e.message, e.details, e.created_at`;

export async function getAlertEvent(db: Knex, id: string): Promise<AlertEventRow> {
  const { rows } = await db.raw(`SELECT ${EVENT_COLS} FROM alert_events e WHERE e.id = ?`, [id]);
  if (!rows[0]) throw new OrgtallyError(ErrorType.InvalidInput, `no alert event ${id}`);
  return rows[0];
}

/** The account's alert notices, newest first, with the delivery status per recipient. */
export async function alertHistory(
  db: Knex,
  accountId: string,
  opts: { limit?: number } = {},
): Promise<AlertEventRow[]> {
  const { rows } = await db.raw(
    `SELECT ${EVENT_COLS},
            coalesce((SELECT json_agg(json_build_object('recipient', d.recipient, 'status', d.status) ORDER BY d.recipient)
                        FROM deliveries d WHERE d.kind = 'alert' AND d.reference->>'eventId' = e.id::text), '[]') AS deliveries
       FROM alert_events e WHERE e.account_id = ?
      ORDER BY e.as_of DESC, e.id DESC LIMIT ?`,
    [accountId, opts.limit ?? 200],
  );
  return rows;
}
