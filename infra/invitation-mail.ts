import type { Knex } from 'knex';
import { mailThroughLedger } from './ledger-mail';
import { escapeHtml as esc } from '../domain/escape';

/**
 * An invitation, mailed through the delivery ledger: one row per invitation (its dedupe key is the link's id),
 * sent at most once with its outcome recorded, like every mail orgtally sends. The link itself is only in the
 * message: the ledger keeps the link's id, never its token, so a failed invitation is issued again rather than
 * re-sent from the ledger.
 */
export interface InvitationMail {
  accountId: string;
  accountName: string;
  email: string;
  linkId: string;
  url: string;
  expiresAt: string;
  invitedBy: string;
}

export async function mailInvitation(
  db: Knex,
  smtp: { url: string; from: string },
  m: InvitationMail,
): Promise<{ status: string; detail: string }> {
  const subject = `[orgtally] You are invited to ${m.accountName}'s usage console`;
  const text = [
    `${m.invitedBy} invited you to see ${m.accountName}'s usage and billing in orgtally.`,
    '',
    `Set your password here (the link works once, until ${m.expiresAt}):`,
    m.url,
    '',
    'If you did not expect this, ignore it: nothing happens until the link is used.',
  ].join('\n');
  const html = `<p>${esc(m.invitedBy)} invited you to see ${esc(m.accountName)}'s usage and billing in orgtally.</p>
<p><a href="${esc(m.url)}">Set your password</a> — the link works once, until ${esc(m.expiresAt)}.</p>
<p>If you did not expect this, ignore it: nothing happens until the link is used.</p>`;
  return mailThroughLedger(db, smtp, {
    dedupeKey: `invitation:${m.linkId}`,
    kind: 'invitation',
    accountId: m.accountId,
    reference: { link: m.linkId },
    recipient: m.email,
    subject,
    text,
    html,
  });
}
