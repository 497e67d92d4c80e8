import type { Knex } from 'knex';
import { planDeliveries, sendOnce } from '../db/deliveries';
import { sendMail } from './mail';
import { escapeHtml as esc } from '../domain/escape';

/**
 * A one-time code for an invite-only shared dashboard, mailed through the delivery ledger: one row per code (its
 * dedupe key is the code's id), sent at most once with its outcome recorded. The code is only in the message;
 * the ledger and share_codes keep its id and digest.
 */
export interface ShareCodeMail {
  accountId: string;
  accountName: string;
  email: string;
  codeId: string;
  code: string;
  title: string;
  expiresAt: string;
}

export async function mailShareCode(
  db: Knex,
  smtp: { url: string; from: string },
  m: ShareCodeMail,
): Promise<{ status: string; detail: string }> {
  const domain = /@([^>\s]+)>?$/.exec(smtp.from)?.[1] ?? 'orgtally.local';
  const [row] = await planDeliveries(
    db,
    [
      {
        dedupeKey: `share_code:${m.codeId}`,
        kind: 'share_code',
        accountId: m.accountId,
        reference: { code: m.codeId },
        recipient: m.email,
      },
    ],
    domain,
  );
  if (!row) throw new Error('share code: no ledger row');
  const subject = `[orgtally] Your code for "${m.title}"`;
  const text = [
    `Your code to open "${m.title}", shared by ${m.accountName}:`,
    '',
    `    ${m.code}`,
    '',
    `It works once, until ${m.expiresAt}. If you did not ask for it, ignore this mail.`,
  ].join('\n');
  const out = await sendOnce(db, row.id, async (d) => ({
    subject,
    transmit: () =>
      sendMail(smtp.url, {
        from: smtp.from,
        to: d.recipient,
        subject,
        text,
        html: `<p>Your code to open “${esc(m.title)}”, shared by ${esc(m.accountName)}:</p>
<p style="font-size:24px;letter-spacing:4px"><strong>${m.code}</strong></p>
<p>It works once, until ${esc(m.expiresAt)}. If you did not ask for it, ignore this mail.</p>`,
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
