import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { keyPermissions, type Permission } from '../domain/access';
import { audit } from './audit';
import { digest } from './keys';

/**
 * Console sessions and passwords. The cookie is 256 random bits; only its digest is stored. A session ends when
 * it has been idle too long, at its absolute expiry, at sign-out, when its user is removed (CASCADE) or when the
 * user's password changes.
 */
export interface SessionLimits {
  idleMs: number;
  maxMs: number;
}

export interface SessionUser {
  sessionId: string;
  userId: string;
  email: string;
  accountId: string;
  org: string;
  permissions: Set<Permission>;
}

export async function createSession(
  trx: Knex | Knex.Transaction,
  userId: string,
  limits: SessionLimits,
): Promise<string> {
  const token = `ots_${randomBytes(32).toString('base64url')}`;
  await trx('sessions').insert({
    digest: digest(token),
    user_id: userId,
    expires_at: trx.raw(`now() + ?::interval`, [`${limits.maxMs} milliseconds`]),
  });
  return token;
}

/**
 * The signed-in user of a cookie, with its permissions read now (a role change holds on the next page), or
 * undefined. One query; last_seen_at is written at most once a minute, which is also the idle clock's grain.
 */
export async function sessionUser(
  db: Knex,
  token: string,
  limits: SessionLimits,
): Promise<SessionUser | undefined> {
  const { rows } = await db.raw(
    `UPDATE sessions s SET last_seen_at = CASE WHEN s.last_seen_at < now() - interval '1 minute'
                                              THEN now() ELSE s.last_seen_at END
       FROM users u JOIN orgs o ON o.id = u.org_id
      WHERE s.digest = :digest AND u.id = s.user_id AND s.expires_at > now()
        AND s.last_seen_at > now() - CAST(:idle AS interval)
     RETURNING s.id, u.id AS user_id, u.email, u.account_id, o.public_id AS org,
               ARRAY(SELECT DISTINCT p FROM user_roles ur JOIN roles r ON r.id = ur.role_id,
                     unnest(r.permissions) AS p WHERE ur.user_id = u.id) AS permissions`,
    { digest: digest(token), idle: `${limits.idleMs} milliseconds` },
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    sessionId: r.id,
    userId: r.user_id,
    email: r.email,
    accountId: r.account_id,
    org: r.org,
    permissions: keyPermissions(r.permissions, null),
  };
}

export async function endSession(db: Knex, token: string): Promise<void> {
  await db('sessions')
    .where({ digest: digest(token) })
    .delete();
}

/** A user with a password set, by e-mail: the candidates of a sign-in (an e-mail may be a user of two accounts). */
export async function passwordUsers(
  db: Knex,
  email: string,
): Promise<{ id: string; account_id: string; password_hash: string }[]> {
  return db('users')
    .where({ email: email.trim().toLowerCase() })
    .whereNotNull('password_hash')
    .orderBy('account_id')
    .select('id', 'account_id', 'password_hash');
}

/** Sets a user's password and ends every session it had: sign-out everywhere. */
export async function setPassword(
  trx: Knex.Transaction,
  q: { userId: string; hash: string; actor: string },
): Promise<void> {
  const user = await trx('users').where({ id: q.userId }).first('account_id', 'email', 'password_hash');
  await trx('users')
    .where({ id: q.userId })
    .update({ password_hash: q.hash, password_changed_at: trx.fn.now() });
  const ended = await trx('sessions').where({ user_id: q.userId }).delete();
  await audit(trx, {
    accountId: user.account_id,
    actor: q.actor,
    action: user.password_hash ? 'user.password_change' : 'user.password_set',
    target: `user:${user.email}`,
    after: { sessions_ended: ended },
  });
}
