import type { Knex } from 'knex';
import type { DeliveryStatus } from './deliveries';

/**
 * Reads of the console's Reports page: a month's finance mail as the ledger and the stored render hold it. The
 * ledger row keeps who got it, its status and attempts; the body is the version's render (month_end_renders),
 * rendered once and sent as those bytes to every recipient and on every re-send.
 */

export interface MonthEndMail {
  id: string;
  version: number;
  recipient: string;
  message_id: string;
  subject: string | null;
  status: DeliveryStatus;
  attempts: number;
  unknown_outcomes: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

/** The month's finance mails (every version), by version then recipient. */
export async function monthEndMails(db: Knex, accountId: string, month: string): Promise<MonthEndMail[]> {
  const rows = await db('deliveries')
    .where({ account_id: accountId, kind: 'month_end' })
    .whereRaw(`reference->>'month' = ?`, [month])
    .orderByRaw(`(reference->>'version')::int, recipient`)
    .select(
      db.raw('id::text AS id'),
      db.raw(`(reference->>'version')::int AS version`),
      'recipient',
      'message_id',
      'subject',
      'status',
      'attempts',
      'unknown_outcomes',
      'last_error',
      'created_at',
      'sent_at',
    );
  return rows.map((r: MonthEndMail & { created_at: Date; sent_at: Date | null }) => ({
    ...r,
    created_at: new Date(r.created_at).toISOString(),
    sent_at: r.sent_at === null ? null : new Date(r.sent_at).toISOString(),
  }));
}

export interface MailRender {
  version: number;
  subject: string;
  text: string;
}

/** The stored renders of the month's versions (a version closed without mail has none). */
export async function monthEndRenders(db: Knex, accountId: string, month: string): Promise<MailRender[]> {
  return db('month_end_renders')
    .where({ account_id: accountId, month: `${month}-01` })
    .orderBy('version')
    .select('version', 'subject', 'text');
}

/** Every version of the month, oldest first. */
export async function monthVersionNumbers(db: Knex, accountId: string, month: string): Promise<number[]> {
  return db('month_end_versions')
    .where({ account_id: accountId, month: `${month}-01` })
    .orderBy('version')
    .pluck('version');
}
