import type { Knex } from 'knex';
import type { AuditRow } from './audit';
import type { KeyRow } from './keys';

/**
 * The reads of the console's Access page: users and keys of a set of orgs (all of the account's when `orgs` is
 * undefined), and the audit rows about given targets. db/access.ts and db/keys.ts own the tables.
 */
export interface ConsoleUser {
  id: string;
  email: string;
  org: string;
  roles: string[];
  /** Every permission its roles give, sorted. */
  permissions: string[];
  /** Keys not revoked. */
  keys: number;
  /** It accepted its invitation: a password is set (the hash itself never leaves the database). */
  password_set: boolean;
  created_at: Date;
}

export async function consoleUsers(
  db: Knex,
  accountId: string,
  orgs?: readonly string[],
): Promise<ConsoleUser[]> {
  const { rows } = await db.raw(
    `SELECT u.id, u.email, o.public_id AS org, u.created_at, u.password_hash IS NOT NULL AS password_set,
            ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                   WHERE ur.user_id = u.id ORDER BY r.name) AS roles,
            ARRAY(SELECT DISTINCT p FROM user_roles ur JOIN roles r ON r.id = ur.role_id, unnest(r.permissions) AS p
                   WHERE ur.user_id = u.id ORDER BY p) AS permissions,
            (SELECT count(*)::int FROM api_keys k WHERE k.user_id = u.id AND k.revoked_at IS NULL) AS keys
       FROM users u JOIN orgs o ON o.id = u.org_id
      WHERE u.account_id = :account AND (CAST(:orgs AS text[]) IS NULL OR o.public_id = ANY(CAST(:orgs AS text[])))
      ORDER BY u.email`,
    { account: accountId, orgs: orgs ? [...orgs] : null },
  );
  return rows;
}

export interface ConsoleKey extends KeyRow {
  user_id: string;
}

export async function consoleKeys(
  db: Knex,
  accountId: string,
  orgs?: readonly string[],
): Promise<ConsoleKey[]> {
  const { rows } = await db.raw(
    `SELECT k.id, k.user_id, u.email, o.public_id AS org, k.name, k.hint, k.scopes, k.created_at, k.expires_at,
            k.revoked_at, k.last_used_at
       FROM api_keys k JOIN users u ON u.id = k.user_id JOIN orgs o ON o.id = u.org_id
      WHERE u.account_id = :account AND (CAST(:orgs AS text[]) IS NULL OR o.public_id = ANY(CAST(:orgs AS text[])))
      ORDER BY k.created_at DESC, k.id`,
    { account: accountId, orgs: orgs ? [...orgs] : null },
  );
  const iso = (v: Date | null) => (v === null ? null : new Date(v).toISOString());
  return rows.map(
    (r: ConsoleKey & Record<'created_at' | 'expires_at' | 'revoked_at' | 'last_used_at', Date | null>) => ({
      ...r,
      created_at: iso(r.created_at) as string,
      expires_at: iso(r.expires_at),
      revoked_at: iso(r.revoked_at),
      last_used_at: iso(r.last_used_at),
    }),
  );
}

/** The latest audit rows of the account whose target is one of these (`user:<email>`, `key:<id>`), newest first. */
export async function auditAbout(
  db: Knex,
  accountId: string,
  targets: readonly string[],
  limit: number,
): Promise<AuditRow[]> {
  if (!targets.length) return [];
  const rows = await db('audit_log')
    .where('account_id', accountId)
    .whereRaw('target = ANY(?::text[])', [[...targets]])
    .orderBy('id', 'desc')
    .limit(limit)
    .select('id', 'account_id', 'at', 'actor', 'action', 'target', 'before', 'after');
  return rows.map((r: AuditRow) => ({ ...r, id: String(r.id), at: new Date(r.at).toISOString() }));
}
