import type { Knex } from 'knex';
import { mailThroughLedger } from './ledger-mail';
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
  const subject = `[orgtally] Your code for "${m.title}"`;
  const text = [
    `Your code to open "${m.title}", shared by ${m.accountName}:`,
    '',
    `    ${m.code}`,
    '',
    `It works once, until ${m.expiresAt}. If you did not ask for it, ignore this mail.`,
  ].join('\n');
  const html = `<p>Your code to open “${esc(m.title)}”, shared by ${esc(m.accountName)}:</p>
<p style="font-size:24px;letter-spacing:4px"><strong>${m.code}</strong></p>
<p>It works once, until ${esc(m.expiresAt)}. If you did not ask for it, ignore this mail.</p>`;
  return mailThroughLedger(db, smtp, {
    dedupeKey: `share_code:${m.codeId}`,
    kind: 'share_code',
    accountId: m.accountId,
    reference: { code: m.codeId },
    recipient: m.email,
    subject,
    text,
    html,
  });
}
