import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { ErrorType, OrgtallyError } from '../domain/errors';

/** Owner of deliveries: the ledger that makes every mail go out once per dedupe key. */

export type DeliveryKind = 'month_end' | 'alert';
export type DeliveryStatus = 'pending' | 'sent' | 'failed';

export interface Delivery {
  id: string;
  dedupe_key: string;
  kind: DeliveryKind;
  account_id: string;
  reference: Record<string, unknown>;
  recipient: string;
  message_id: string;
  subject: string | null;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  smtp_response: string | null;
  created_at: Date;
  sent_at: Date | null;
}

const COLS = `id::text AS id, dedupe_key, kind, account_id, reference, recipient, message_id, subject, status,
  attempts, last_error, smtp_response, created_at, sent_at`;

/** `<hash of the dedupe key>@<domain>`: the same logical message always carries the same Message-ID. */
export function messageIdFor(dedupeKey: string, domain: string): string {
  return `<${createHash('sha256').update(dedupeKey).digest('hex').slice(0, 32)}@${domain}>`;
}

/** Creates the ledger rows (idempotent on the dedupe key) and returns them, new or existing. */
export async function planDeliveries(
  db: Knex,
  rows: {
    dedupeKey: string;
    kind: DeliveryKind;
    accountId: string;
    reference: Record<string, unknown>;
    recipient: string;
  }[],
  mailDomain: string,
): Promise<Delivery[]> {
  if (!rows.length) return [];
  await db('deliveries')
    .insert(
      rows.map((r) => ({
        dedupe_key: r.dedupeKey,
        kind: r.kind,
        account_id: r.accountId,
        reference: JSON.stringify(r.reference),
        recipient: r.recipient,
        message_id: messageIdFor(r.dedupeKey, mailDomain),
      })),
    )
    .onConflict('dedupe_key')
    .ignore();
  return db('deliveries')
    .whereIn(
      'dedupe_key',
      rows.map((r) => r.dedupeKey),
    )
    .orderBy('id')
    .select(db.raw(COLS));
}

export async function getDelivery(db: Knex, id: string): Promise<Delivery> {
  const row = await db('deliveries').where({ id }).first(db.raw(COLS));
  if (!row) throw new OrgtallyError(ErrorType.InvalidInput, `no delivery ${id}`);
  return row;
}

export type SendOutcome =
  | { status: 'sent'; response: string; alreadySent: boolean; attempts: number }
  | { status: 'failed' | 'pending'; permanent: boolean; error: string; response: string; attempts: number };

/**
 * Sends one ledger row at most once: the row is locked (FOR UPDATE) for the whole attempt, so two attempts can
 * never send at the same time; a row already `sent` is not sent again. The outcome is committed before it is
 * returned: `sent` with the server's response, `failed` (permanent, not retried) or back to `pending`.
 * The one window left is a crash after the server accepted the message and before the commit: the retry then
 * sends it again with the same Message-ID, which receivers use to drop the duplicate.
 */
export async function sendOnce(
  db: Knex,
  id: string,
  send: (d: Delivery) => Promise<{ subject: string; response: string }>,
): Promise<SendOutcome> {
  return db.transaction(async (trx) => {
    const d: Delivery | undefined = await trx('deliveries').where({ id }).forUpdate().first(trx.raw(COLS));
    if (!d) throw new OrgtallyError(ErrorType.InvalidInput, `no delivery ${id}`);
    if (d.status === 'sent')
      return { status: 'sent', response: d.smtp_response ?? '', alreadySent: true, attempts: d.attempts };
    const attempts = d.attempts + 1;
    try {
      const r = await send(d);
      await trx('deliveries').where({ id }).update({
        status: 'sent',
        attempts,
        subject: r.subject,
        smtp_response: r.response,
        last_error: null,
        sent_at: trx.fn.now(),
        updated_at: trx.fn.now(),
      });
      return { status: 'sent', response: r.response, alreadySent: false, attempts };
    } catch (err) {
      const e = err as Error & { permanent?: boolean; response?: string };
      const permanent = e.permanent === true;
      await trx('deliveries')
        .where({ id })
        .update({
          status: permanent ? 'failed' : 'pending',
          attempts,
          last_error: e.message,
          smtp_response: e.response ?? null,
          updated_at: trx.fn.now(),
        });
      return {
        status: permanent ? 'failed' : 'pending',
        permanent,
        error: e.message,
        response: e.response ?? '',
        attempts,
      };
    }
  });
}

export async function listDeliveries(
  db: Knex,
  filter: { accountId?: string; status?: DeliveryStatus; limit?: number },
): Promise<Delivery[]> {
  return db('deliveries')
    .modify((q) => {
      if (filter.accountId) q.where({ account_id: filter.accountId });
      if (filter.status) q.where({ status: filter.status });
    })
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .select(db.raw(COLS));
}
