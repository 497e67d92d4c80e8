import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { isPermission, keyPermissions, type Permission } from '../domain/access';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { audit } from './audit';

/**
 * Owner of api_keys. A key pair is 2 × 256 random bits behind readable prefixes, shown once; the database holds
 * SHA-256 digests only (docs/adr/0008-api-keys.md).
 */

const API_PREFIX = 'otk_';
const APP_PREFIX = 'ota_';
export const digest = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();
const secret = (prefix: string) => prefix + randomBytes(32).toString('base64url');

export interface KeyRow {
  id: string;
  email: string;
  org: string;
  name: string;
  hint: string;
  scopes: string[] | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

export async function listKeys(db: Knex, accountId: string, email?: string): Promise<KeyRow[]> {
  const rows = await db('api_keys as k')
    .join('users as u', 'u.id', 'k.user_id')
    .join('orgs as o', 'o.id', 'u.org_id')
    .where('u.account_id', accountId)
    .modify((q) => {
      if (email !== undefined) q.where('u.email', email.trim().toLowerCase());
    })
    .orderBy([{ column: 'k.created_at' }, { column: 'k.id' }])
    .select(
      'k.id',
      'u.email',
      'o.public_id as org',
      'k.name',
      'k.hint',
      'k.scopes',
      'k.created_at',
      'k.expires_at',
      'k.revoked_at',
      'k.last_used_at',
    );
  return rows.map((r: KeyRow) => ({
    ...r,
    created_at: iso(r.created_at) as string,
    expires_at: iso(r.expires_at),
    revoked_at: iso(r.revoked_at),
    last_used_at: iso(r.last_used_at),
  }));
}

export interface CreatedKey {
  id: string;
  api_key: string;
  application_key: string;
  expires_at: string | null;
}

/** A new key pair of a user; `scopes` must be permissions the user holds now (a key never holds more). */
export async function createKey(
  trx: Knex.Transaction,
  q: {
    accountId: string;
    email: string;
    name: string;
    scopes?: readonly string[];
    expiresAt?: string;
    actor: string;
  },
): Promise<CreatedKey> {
  const email = q.email.trim().toLowerCase();
  const user = await trx('users').where({ account_id: q.accountId, email }).first('id');
  if (!user) throw new OrgtallyError(ErrorType.NotFound, `no user ${email} in account ${q.accountId}`);
  let scopes: Permission[] | null = null;
  if (q.scopes !== undefined) {
    const bad = q.scopes.filter((s) => !isPermission(s));
    if (bad.length)
      throw new OrgtallyError(ErrorType.InvalidInput, `unknown permission(s): ${bad.join(', ')}`);
    const held = await userPermissions(trx, user.id);
    const lacking = q.scopes.filter((s) => !held.has(s));
    if (lacking.length)
      throw new OrgtallyError(
        ErrorType.InvalidInput,
        `${email} does not hold ${lacking.join(', ')}: a key's scopes are a subset of its user's permissions`,
      );
    scopes = [...new Set(q.scopes as Permission[])].sort();
  }
  const apiKey = secret(API_PREFIX);
  const appKey = secret(APP_PREFIX);
  const [row] = await trx('api_keys')
    .insert({
      user_id: user.id,
      name: q.name,
      api_key_digest: digest(apiKey),
      app_key_digest: digest(appKey),
      hint: `${API_PREFIX}…${apiKey.slice(-4)}`,
      scopes,
      expires_at: q.expiresAt ?? null,
    })
    .returning(['id', 'expires_at']);
  await audit(trx, {
    accountId: q.accountId,
    actor: q.actor,
    action: 'key.create',
    target: `key:${row.id}`,
    after: { user: email, name: q.name, scopes, expires_at: iso(row.expires_at) },
  });
  return { id: row.id, api_key: apiKey, application_key: appKey, expires_at: iso(row.expires_at) };
}

export async function revokeKey(
  trx: Knex.Transaction,
  q: { accountId: string; id: string; actor: string },
): Promise<KeyRow> {
  const key = (await listKeys(trx, q.accountId)).find((k) => k.id === q.id);
  if (!key) throw new OrgtallyError(ErrorType.NotFound, `no key ${q.id} in account ${q.accountId}`);
  if (key.revoked_at !== null) return key;
  await trx('api_keys').where({ id: q.id }).update({ revoked_at: trx.fn.now() });
  await audit(trx, {
    accountId: q.accountId,
    actor: q.actor,
    action: 'key.revoke',
    target: `key:${q.id}`,
    before: { user: key.email, name: key.name },
  });
  return key;
}

async function userPermissions(db: Knex, userId: string): Promise<Set<string>> {
  const rows = await db('user_roles as ur')
    .join('roles as r', 'r.id', 'ur.role_id')
    .where('ur.user_id', userId)
    .select('r.permissions');
  return new Set(rows.flatMap((r: { permissions: string[] }) => r.permissions));
}

/** Who a request's keys belong to, or why they are refused (the reason goes to the log, not to the caller). */
export type Authentication =
  | {
      ok: true;
      keyId: string;
      email: string;
      accountId: string;
      org: string;
      permissions: Set<Permission>;
    }
  | { ok: false; reason: string };

/**
 * One unique-index probe on the API key's digest; the application key's digest is compared in constant time.
 * `appKey` undefined: the API key alone (Datadog's /validate). Nothing is cached: a revocation holds on the
 * next request.
 */
export async function authenticate(
  db: Knex,
  apiKey: string,
  appKey: string | undefined,
): Promise<Authentication> {
  const { rows } = await db.raw(
    `SELECT k.id, k.app_key_digest, k.scopes, k.revoked_at IS NOT NULL AS revoked,
            (k.expires_at IS NOT NULL AND k.expires_at <= now()) AS expired,
            u.email, u.account_id, o.public_id AS org,
            ARRAY(SELECT DISTINCT p FROM user_roles ur JOIN roles r ON r.id = ur.role_id,
                  unnest(r.permissions) AS p WHERE ur.user_id = u.id) AS permissions
       FROM api_keys k JOIN users u ON u.id = k.user_id JOIN orgs o ON o.id = u.org_id
      WHERE k.api_key_digest = ?`,
    [digest(apiKey)],
  );
  const k = rows[0];
  if (!k) return { ok: false, reason: 'unknown API key' };
  if (k.revoked) return { ok: false, reason: `key ${k.id} is revoked` };
  if (k.expired) return { ok: false, reason: `key ${k.id} has expired` };
  if (appKey !== undefined) {
    const stored = k.app_key_digest as Buffer;
    if (!timingSafeEqual(stored, digest(appKey)))
      return { ok: false, reason: `key ${k.id}: the application key does not belong to this API key` };
  }
  return {
    ok: true,
    keyId: k.id,
    email: k.email,
    accountId: k.account_id,
    org: k.org,
    permissions: keyPermissions(k.permissions, k.scopes),
  };
}

/** Last use, at most once a minute per key: a write per request would cost more than the read it records. */
export async function touchKey(db: Knex, keyId: string): Promise<void> {
  await db.raw(
    `UPDATE api_keys SET last_used_at = now()
      WHERE id = ? AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [keyId],
  );
}
