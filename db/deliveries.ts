import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { ErrorType, isTransientError, OrgtallyError } from '../domain/errors';

/** Owner of deliveries: the ledger that makes every mail go out once per dedupe key. */

export type DeliveryKind = 'month_end' | 'alert' | 'invitation' | 'share_code' | 'statement';
export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed';

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
  /** Attempts whose worker stopped between claiming and recording an outcome (the mail may have gone out). */
  unknown_outcomes: number;
  last_error: string | null;
  smtp_response: string | null;
  created_at: Date;
  sent_at: Date | null;
}

const COLS = `id::text AS id, dedupe_key, kind, account_id, reference, recipient, message_id, subject, status,
  attempts, unknown_outcomes, last_error, smtp_response, created_at, sent_at`;

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

/** What this process knows of its own attempts whose outcome it could not record yet (the database was away). */
export type AttemptMemo = Map<
  string,
  { claimId: string } & ({ sent: true; subject: string; response: string; sentAt: Date } | { sent: false })
>;

/**
 * How long a claim without an outcome is taken for a send still in flight: twice the delivery activity's
 * heartbeat timeout (workflows/delivery.ts). Temporal retries an attempt only after it fell silent that long, so a
 * younger claim belongs to an attempt that may still be talking to the mail server; an older one ended unrecorded.
 */
export const SEND_IN_FLIGHT_MS = 30_000;

export interface Transmission {
  subject: string;
  /** Hands the message to the mail server: resolves with its reply, rejects with a classified failure. */
  transmit: () => Promise<{ response: string }>;
}

/**
 * Sends one ledger row at most once per known outcome (docs/adr/0003-delivery-ledger.md):
 * 1. compose (no ledger change yet);
 * 2. claim: status `sending`, a new claim id, in a committed transaction — no lock is held while mailing, so a
 *    lost connection, a failover or an idle-in-transaction timeout cannot undo what happened;
 * 3. send;
 * 4. mark `sent` with the server's reply and its time, only for our claim, retried on fresh connections. If the
 *    database stays away, this process remembers the reply and the next attempt records it without sending.
 * An attempt that finds a claim it does not know about cannot tell whether that mail went out (its worker died
 * between the server's reply and step 4): the ledger counts an unknown outcome and, as the stated policy, the
 * mail is sent again with the same Message-ID, by which receivers drop a duplicate.
 */
export async function sendOnce(
  db: Knex,
  id: string,
  prepare: (d: Delivery) => Promise<Transmission>,
  memo: AttemptMemo = new Map(),
): Promise<SendOutcome> {
  const d = await db('deliveries')
    .where({ id })
    .first(
      db.raw(
        `${COLS}, claim_id::text AS claim_id, claimed_at,
         (extract(epoch FROM now() - claimed_at) * 1000)::bigint AS claim_age_ms`,
      ),
    );
  if (!d) throw new OrgtallyError(ErrorType.InvalidInput, `no delivery ${id}`);
  if (d.status === 'sent')
    return { status: 'sent', response: d.smtp_response ?? '', alreadySent: true, attempts: d.attempts };
  const known = memo.get(id);
  if (known?.sent && d.status === 'sending' && d.claim_id === known.claimId) {
    await markSent(db, id, known);
    memo.delete(id);
    return { status: 'sent', response: known.response, alreadySent: false, attempts: d.attempts };
  }
  const unknown = d.status === 'sending' && !(known && known.claimId === d.claim_id);
  // A young claim may be a send still in flight (an attempt Temporal gave up on that is still talking to the
  // mail server): wait for it rather than send a second time now.
  if (unknown && Number(d.claim_age_ms) < SEND_IN_FLIGHT_MS) {
    throw new Error(
      `delivery ${id}: a send claimed ${Math.round(Number(d.claim_age_ms) / 1000)} s ago may still be in flight; retried later`,
    );
  }
  const mail = await prepare(d);
  const claimId = randomUUID();
  const attempts = d.attempts + 1;
  const claimed = await db('deliveries')
    .where({ id, status: d.status })
    .whereRaw('claim_id IS NOT DISTINCT FROM ?::uuid', [d.claim_id ?? null])
    .update({
      status: 'sending',
      claim_id: claimId,
      claimed_at: db.fn.now(),
      attempts,
      subject: mail.subject,
      ...(unknown
        ? {
            unknown_outcomes: db.raw('unknown_outcomes + 1'),
            last_error:
              `attempt ${d.attempts} claimed at ${new Date(d.claimed_at).toISOString()} recorded no outcome ` +
              `(its worker stopped mid-send): sent again with the same Message-ID`,
          }
        : {}),
      updated_at: db.fn.now(),
    });
  // Another attempt claimed the row between our read and our claim: it is that attempt's to send.
  if (!claimed) throw new Error(`delivery ${id} was claimed by another attempt meanwhile`);
  memo.delete(id);
  let response: string;
  try {
    ({ response } = await mail.transmit());
  } catch (err) {
    const e = err as Error & { permanent?: boolean; response?: string };
    const permanent = e.permanent === true;
    memo.set(id, { claimId, sent: false });
    await db('deliveries')
      .where({ id, claim_id: claimId })
      .update({
        status: permanent ? 'failed' : 'pending',
        last_error: e.message,
        smtp_response: e.response ?? null,
        updated_at: db.fn.now(),
      });
    memo.delete(id);
    return {
      status: permanent ? 'failed' : 'pending',
      permanent,
      error: e.message,
      response: e.response ?? '',
      attempts,
    };
  }
  const mark = { claimId, sent: true as const, subject: mail.subject, response, sentAt: new Date() };
  memo.set(id, mark);
  await withRetries(() => markSent(db, id, mark));
  memo.delete(id);
  return { status: 'sent', response, alreadySent: false, attempts };
}

async function markSent(
  db: Knex,
  id: string,
  m: { claimId: string; subject: string; response: string; sentAt: Date },
): Promise<void> {
  await db('deliveries').where({ id, claim_id: m.claimId, status: 'sending' }).update({
    status: 'sent',
    subject: m.subject,
    smtp_response: m.response,
    last_error: null,
    sent_at: m.sentAt,
    updated_at: db.fn.now(),
  });
}

/** A few tries on fresh pooled connections: a connection cut mid-send must not turn a sent mail into a resend. */
async function withRetries(fn: () => Promise<void>, tries = 6): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries || !isTransientError(err)) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** i));
    }
  }
}

export async function listDeliveries(
  db: Knex,
  filter: { accountId?: string; status?: DeliveryStatus; limit?: number },
): Promise<Delivery[]> {
  return (
    db('deliveries')
      .modify((q) => {
        if (filter.accountId) q.where({ account_id: filter.accountId });
        if (filter.status) q.where({ status: filter.status });
      })
      // the table's id (bigint), not the text id of the select list: 10 after 9
      .orderBy('deliveries.id', 'desc')
      .limit(filter.limit ?? 100)
      .select(db.raw(COLS))
  );
}
