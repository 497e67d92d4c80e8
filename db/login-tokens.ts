import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { audit } from './audit';
import { digest } from './keys';

/**
 * One-time links: an invitation, where a user sets its password, and a sign-in link (printed for operators and
 * the demo). Only the digest is stored; a link works once, before its expiry, and only while its user exists.
 */
export type LinkKind = 'invite' | 'login';

export interface IssuedLink {
  id: string;
  token: string;
  email: string;
  expiresAt: string;
}

/** A path inside the console: anything else (another host, `//evil`, a scheme) would make the link a redirector. */
export function safeNext(next: string | undefined): string {
  if (!next) return '/';
  if (!/^\/(?![/\\])[\x21-\x7e]*$/.test(next))
    throw new OrgtallyError(
      ErrorType.InvalidInput,
      `next: must be a path of the console such as /usage, got "${next}"`,
    );
  return next;
}

export async function issueLink(
  trx: Knex.Transaction,
  q: { accountId: string; email: string; kind: LinkKind; next?: string; ttlMs: number; actor: string },
): Promise<IssuedLink> {
  const email = q.email.trim().toLowerCase();
  const next = safeNext(q.next);
  const user = await trx('users').where({ account_id: q.accountId, email }).first('id');
  if (!user)
    throw new OrgtallyError(
      ErrorType.NotFound,
      `no user ${email} in account ${q.accountId} (add one first: orgtally users add)`,
    );
  const token = `otl_${randomBytes(32).toString('base64url')}`;
  const [row] = await trx('login_tokens')
    .insert({
      digest: digest(token),
      user_id: user.id,
      kind: q.kind,
      next_path: next,
      created_by: q.actor,
      expires_at: trx.raw(`now() + ?::interval`, [`${q.ttlMs} milliseconds`]),
    })
    .returning(['id', 'expires_at']);
  await audit(trx, {
    accountId: q.accountId,
    actor: q.actor,
    action: q.kind === 'invite' ? 'user.invite' : 'user.login_link',
    target: `user:${email}`,
    after: { link: row.id, next, expires_at: new Date(row.expires_at).toISOString() },
  });
  return { id: row.id, token, email, expiresAt: new Date(row.expires_at).toISOString() };
}

export interface LinkUser {
  userId: string;
  accountId: string;
  email: string;
  kind: LinkKind;
  next: string;
}

/** The link's user, without using it up (the invitation page shows whom it is for before the password is set). */
export async function peekLink(db: Knex | Knex.Transaction, token: string): Promise<LinkUser | undefined> {
  const { rows } = await db.raw(
    `SELECT t.user_id, u.account_id, u.email, t.kind, t.next_path
       FROM login_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.digest = ? AND t.used_at IS NULL AND t.expires_at > now()`,
    [digest(token)],
  );
  const r = rows[0];
  return r && { userId: r.user_id, accountId: r.account_id, email: r.email, kind: r.kind, next: r.next_path };
}

/** Uses the link up: of two requests with one link, one wins. */
export async function redeemLink(
  trx: Knex.Transaction,
  token: string,
  kind: LinkKind,
): Promise<LinkUser | undefined> {
  const { rows } = await trx.raw(
    `UPDATE login_tokens t SET used_at = now() FROM users u
      WHERE t.digest = ? AND t.kind = ? AND t.used_at IS NULL AND t.expires_at > now() AND u.id = t.user_id
     RETURNING t.user_id, u.account_id, u.email, t.kind, t.next_path`,
    [digest(token), kind],
  );
  const r = rows[0];
  return r && { userId: r.user_id, accountId: r.account_id, email: r.email, kind: r.kind, next: r.next_path };
}

/** Failed sign-ins in the window, per address and per e-mail: the limits count failures, not successes. */
export async function recentFailures(
  db: Knex,
  q: { address: string; email: string; windowMs: number },
): Promise<{ address: number; email: number }> {
  const { rows } = await db.raw(
    `SELECT count(*) FILTER (WHERE address = :address)::int AS address,
            count(*) FILTER (WHERE email = :email)::int AS email
       FROM sign_in_attempts
      WHERE NOT ok AND at > now() - CAST(:window AS interval) AND (address = :address OR email = :email)`,
    { address: q.address, email: q.email.trim().toLowerCase(), window: `${q.windowMs} milliseconds` },
  );
  return rows[0];
}

export async function recordAttempt(
  db: Knex,
  q: { address: string; email: string; ok: boolean },
): Promise<void> {
  await db('sign_in_attempts').insert({ address: q.address, email: q.email.trim().toLowerCase(), ok: q.ok });
}
