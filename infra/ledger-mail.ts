import type { Knex } from 'knex';
import { planDeliveries, sendOnce, type DeliveryKind } from '../db/deliveries';
import { sendMail } from './mail';

/**
 * One message that is not part of a workflow (an invitation, a viewer's code), sent through the delivery ledger
 * all the same: one row per dedupe key, sent at most once, its outcome recorded. What the message carries that
 * must stay secret (a link, a code) is only in the message; the ledger keeps the reference given.
 */
export interface LedgerMail {
  dedupeKey: string;
  kind: DeliveryKind;
  accountId: string;
  reference: Record<string, string>;
  recipient: string;
  subject: string;
  text: string;
  html: string;
}

export async function mailThroughLedger(
  db: Knex,
  smtp: { url: string; from: string },
  m: LedgerMail,
): Promise<{ status: string; detail: string }> {
  const domain = /@([^>\s]+)>?$/.exec(smtp.from)?.[1] ?? 'orgtally.local';
  const [row] = await planDeliveries(
    db,
    [
      {
        dedupeKey: m.dedupeKey,
        kind: m.kind,
        accountId: m.accountId,
        reference: m.reference,
        recipient: m.recipient,
      },
    ],
    domain,
  );
  if (!row) throw new Error(`${m.kind}: no ledger row`);
  const out = await sendOnce(db, row.id, async (d) => ({
    subject: m.subject,
    transmit: () =>
      sendMail(smtp.url, {
        from: smtp.from,
        to: d.recipient,
        subject: m.subject,
        text: m.text,
        html: m.html,
        messageId: d.message_id,
        date: new Date(),
        attachments: [],
        headers: { 'X-Orgtally-Delivery': d.dedupe_key },
      }),
  }));
  return out.status === 'sent'
    ? { status: 'sent', detail: out.response }
    : { status: out.status, detail: out.error };
}
