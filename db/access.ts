import type { Knex } from 'knex';
import { isManagedRole, isPermission, MANAGED_ROLES, type Permission } from '../domain/access';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { isEmail, type AccountSpec } from '../domain/spec';
import { audit } from './audit';

/** Owner of roles, users and user_roles. Every change writes its audit row in the same transaction. */

const invalid = (m: string) => new OrgtallyError(ErrorType.InvalidInput, m);
const notFound = (m: string) => new OrgtallyError(ErrorType.NotFound, m);

export interface RoleRow {
  id: string;
  name: string;
  managed: boolean;
  permissions: Permission[];
  user_count: number;
  created_at: string;
  updated_at: string;
}

/** The managed roles exist in every account with the code's permissions (a new release may add some). */
export async function ensureManagedRoles(trx: Knex | Knex.Transaction, accountId: string): Promise<void> {
  for (const [name, permissions] of Object.entries(MANAGED_ROLES)) {
    await trx('roles')
      .insert({ account_id: accountId, name, managed: true, permissions: [...permissions] })
      .onConflict(['account_id', 'name'])
      .merge({ permissions: [...permissions], managed: true });
  }
}

function checkPermissions(names: readonly string[]): Permission[] {
  const bad = names.filter((n) => !isPermission(n));
  if (bad.length) throw invalid(`unknown permission${bad.length > 1 ? 's' : ''}: ${bad.join(', ')}`);
  return [...new Set(names as Permission[])].sort();
}

const ROLE_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
function checkRoleName(name: string): void {
  if (!ROLE_NAME.test(name))
    throw invalid(`role name "${name}" must be lower-case letters, digits, _ . - (max 63)`);
  if (isManagedRole(name)) throw invalid(`"${name}" is a managed role: pick another name`);
}

export async function listRoles(db: Knex, accountId: string): Promise<RoleRow[]> {
  const rows = await db('roles as r')
    .where('r.account_id', accountId)
    .orderBy([{ column: 'r.managed', order: 'desc' }, 'r.name'])
    .select(
      'r.id',
      'r.name',
      'r.managed',
      'r.permissions',
      'r.created_at',
      'r.updated_at',
      db.raw('(SELECT count(*)::int FROM user_roles ur WHERE ur.role_id = r.id) AS user_count'),
    );
  return rows.map((r) => ({
    ...r,
    created_at: new Date(r.created_at).toISOString(),
    updated_at: new Date(r.updated_at).toISOString(),
  }));
}

/** A role by id or by name. */
export async function findRole(db: Knex, accountId: string, idOrName: string): Promise<RoleRow> {
  const roles = await listRoles(db, accountId);
  const r = roles.find((x) => x.id === idOrName || x.name === idOrName);
  if (!r)
    throw notFound(
      `no role "${idOrName}" in account ${accountId} (roles: ${roles.map((x) => x.name).join(', ')})`,
    );
  return r;
}

export async function createRole(
  trx: Knex.Transaction,
  q: { accountId: string; name: string; permissions: readonly string[]; actor: string },
): Promise<RoleRow> {
  checkRoleName(q.name);
  const permissions = checkPermissions(q.permissions);
  await ensureManagedRoles(trx, q.accountId);
  const taken = await trx('roles').where({ account_id: q.accountId, name: q.name }).first('id');
  if (taken) throw invalid(`role "${q.name}" exists already in account ${q.accountId}`);
  await trx('roles').insert({ account_id: q.accountId, name: q.name, permissions });
  await audit(trx, {
    accountId: q.accountId,
    actor: q.actor,
    action: 'role.create',
    target: `role:${q.name}`,
    after: { permissions },
  });
  return findRole(trx, q.accountId, q.name);
}

/** Renames a custom role or sets its permissions; a managed role is Datadog's and cannot change. */
export async function updateRole(
  trx: Knex.Transaction,
  q: { accountId: string; role: string; name?: string; permissions?: readonly string[]; actor: string },
): Promise<RoleRow> {
  const cur = await findRole(trx, q.accountId, q.role);
  if (cur.managed) throw invalid(`"${cur.name}" is a managed role: it cannot be changed`);
  const name = q.name ?? cur.name;
  if (name !== cur.name) {
    checkRoleName(name);
    if (await trx('roles').where({ account_id: q.accountId, name }).first('id'))
      throw invalid(`role "${name}" exists already in account ${q.accountId}`);
  }
  const permissions = q.permissions ? checkPermissions(q.permissions) : cur.permissions;
  if (name === cur.name && permissions.join() === [...cur.permissions].sort().join()) return cur;
  await trx('roles').where({ id: cur.id }).update({ name, permissions, updated_at: trx.fn.now() });
  await audit(trx, {
    accountId: q.accountId,
    actor: q.actor,
    action: 'role.update',
    target: `role:${cur.name}`,
    before: { name: cur.name, permissions: cur.permissions },
    after: { name, permissions },
  });
  return findRole(trx, q.accountId, cur.id);
}

export async function deleteRole(
  trx: Knex.Transaction,
  q: { accountId: string; role: string; actor: string },
): Promise<RoleRow> {
  const cur = await findRole(trx, q.accountId, q.role);
  if (cur.managed) throw invalid(`"${cur.name}" is a managed role: it cannot be deleted`);
  if (cur.user_count > 0)
    throw invalid(
      `role "${cur.name}" is held by ${cur.user_count} user${cur.user_count > 1 ? 's' : ''}: ` +
        `take it from them first (users list --account ${q.accountId})`,
    );
  await trx('roles').where({ id: cur.id }).delete();
  await audit(trx, {
    accountId: q.accountId,
    actor: q.actor,
    action: 'role.delete',
    target: `role:${cur.name}`,
    before: { permissions: cur.permissions },
  });
  return cur;
}

export interface UserRow {
  id: string;
  email: string;
  org: string;
  roles: string[];
  keys: number;
  created_at: string;
}

export async function listUsers(db: Knex, accountId: string): Promise<UserRow[]> {
  const rows = await db('users as u')
    .join('orgs as o', 'o.id', 'u.org_id')
    .where('u.account_id', accountId)
    .orderBy('u.email')
    .select(
      'u.id',
      'u.email',
      'o.public_id as org',
      'u.created_at',
      db.raw(`ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                    WHERE ur.user_id = u.id ORDER BY r.name) AS roles`),
      db.raw(`(SELECT count(*)::int FROM api_keys k
               WHERE k.user_id = u.id AND k.revoked_at IS NULL) AS keys`),
    );
  return rows.map((r) => ({ ...r, created_at: new Date(r.created_at).toISOString() }));
}

const normEmail = (e: string) => e.trim().toLowerCase();

/**
 * Makes the user exist in `org` with (at least) these roles: running it again changes nothing; another org moves
 * the user (its keys follow: they act as the user).
 */
export async function addUser(
  trx: Knex.Transaction,
  q: { accountId: string; email: string; org: string; roles: readonly string[]; actor: string },
): Promise<{ user: UserRow; changed: boolean }> {
  const email = normEmail(q.email);
  if (!isEmail(email)) throw invalid(`"${q.email}" is not one e-mail address`);
  await ensureManagedRoles(trx, q.accountId);
  const org = await trx('orgs').where({ account_id: q.accountId, public_id: q.org }).first('id');
  if (!org) throw notFound(`no org "${q.org}" in account ${q.accountId}`);
  if (!q.roles.length)
    throw invalid('a user needs at least one role (--role admin|standard|read_only|<custom>)');
  const roles = await Promise.all(q.roles.map((r) => findRole(trx, q.accountId, r)));
  const before = (await listUsers(trx, q.accountId)).find((u) => u.email === email);
  let userId = before?.id;
  if (!before) {
    [{ id: userId }] = await trx('users')
      .insert({ account_id: q.accountId, email, org_id: org.id })
      .returning('id');
  } else if (before.org !== q.org) {
    await trx('users').where({ id: before.id }).update({ org_id: org.id });
  }
  await trx('user_roles')
    .insert(roles.map((r) => ({ user_id: userId, role_id: r.id })))
    .onConflict(['user_id', 'role_id'])
    .ignore();
  const user = (await listUsers(trx, q.accountId)).find((u) => u.email === email) as UserRow;
  const changed = !before || before.org !== user.org || before.roles.join() !== user.roles.join();
  if (changed)
    await audit(trx, {
      accountId: q.accountId,
      actor: q.actor,
      action: before ? 'user.update' : 'user.add',
      target: `user:${email}`,
      before: before ? { org: before.org, roles: before.roles } : undefined,
      after: { org: user.org, roles: user.roles },
    });
  return { user, changed };
}

/** Removes the user, its roles and its keys (which stop working on the next request). */
export async function removeUser(
  trx: Knex.Transaction,
  q: { accountId: string; email: string; actor: string },
): Promise<UserRow> {
  const email = normEmail(q.email);
  const user = (await listUsers(trx, q.accountId)).find((u) => u.email === email);
  if (!user) throw notFound(`no user ${email} in account ${q.accountId}`);
  // Its keys go with it (ON DELETE CASCADE): the audit row names them, so earlier key:<id> rows stay explained.
  const keys = await trx('api_keys').where({ user_id: user.id }).pluck('id');
  await trx('users').where({ id: user.id }).delete();
  await audit(trx, {
    accountId: q.accountId,
    actor: q.actor,
    action: 'user.remove',
    target: `user:${email}`,
    before: { org: user.org, roles: user.roles, keys },
  });
  return user;
}

/**
 * The spec's `access` section, declaratively: its custom roles and users are made to match exactly (a user left
 * out is removed with its keys). Without the section, access is left as the CLI made it.
 */
export async function applyAccess(
  trx: Knex.Transaction,
  spec: AccountSpec,
  actor: string,
  changes: string[],
): Promise<void> {
  const accountId = spec.account.id;
  await ensureManagedRoles(trx, accountId);
  const access = spec.access;
  if (!access) return;
  const roles = new Map((await listRoles(trx, accountId)).map((r) => [r.name, r]));
  for (const r of access.roles) {
    const cur = roles.get(r.name);
    if (!cur) {
      await createRole(trx, { accountId, name: r.name, permissions: r.permissions, actor });
      changes.push(`role ${r.name}: created`);
    } else if ([...new Set(r.permissions)].sort().join() !== [...cur.permissions].sort().join()) {
      await updateRole(trx, { accountId, role: r.name, permissions: r.permissions, actor });
      changes.push(`role ${r.name}: permissions updated`);
    }
  }
  const wanted = new Map(access.users.map((u) => [normEmail(u.email), u]));
  for (const u of await listUsers(trx, accountId)) {
    const w = wanted.get(u.email);
    const extra = w ? u.roles.filter((r) => !w.roles.includes(r)) : [];
    if (!w) {
      await removeUser(trx, { accountId, email: u.email, actor });
      changes.push(`user ${u.email}: removed`);
    } else if (extra.length) {
      // The spec lists a user's roles exactly: roles it no longer names are taken away.
      await trx('user_roles')
        .where('user_id', u.id)
        .whereIn('role_id', trx('roles').where('account_id', accountId).whereIn('name', extra).select('id'))
        .delete();
      await audit(trx, {
        accountId,
        actor,
        action: 'user.update',
        target: `user:${u.email}`,
        before: { org: u.org, roles: u.roles },
        after: { org: u.org, roles: u.roles.filter((r) => !extra.includes(r)) },
      });
      changes.push(`user ${u.email}: roles ${extra.join(', ')} taken away`);
    }
  }
  for (const [email, u] of wanted) {
    const { changed } = await addUser(trx, { accountId, email, org: u.org, roles: u.roles, actor });
    if (changed) changes.push(`user ${email}: ${u.org}, roles ${u.roles.join(', ')}`);
  }
  const keep = new Set(access.roles.map((r) => r.name));
  for (const r of roles.values())
    if (!r.managed && !keep.has(r.name)) {
      await deleteRole(trx, { accountId, role: r.name, actor });
      changes.push(`role ${r.name}: deleted`);
    }
}
