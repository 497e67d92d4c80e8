import type { Knex } from 'knex';
import { accountIds, orgTree } from '../db/accounts';
import { ALL_PERMISSIONS, denial, subtree, type Permission, type Requirement } from '../domain/access';
import { ErrorType, OrgtallyError } from '../domain/errors';

/**
 * What a caller may read (domain/access.ts): one account; the orgs of its subtree; and whether it stands at the
 * account's root org, where account-level figures are. Every query of this folder takes one and returns only what
 * it allows — the check lives here, not in the CLI or the routes.
 */
export interface Scope {
  readonly accountId: string;
  readonly accountName: string;
  /** ISO 4217: every amount of the account is in it (read with the account, so no page or route reads it again). */
  readonly currency: string;
  /** The caller's own org (the root org for the CLI). */
  readonly org: string;
  /** Public ids of the orgs the caller may see, with their names. */
  readonly orgs: ReadonlyMap<string, string>;
  /** The caller stands at the account's root org: the account's totals and every org are visible. */
  readonly parentLevel: boolean;
  /** What the caller may do: a user's (or key's) permissions; every one for an operator at the CLI. */
  readonly permissions: ReadonlySet<Permission>;
  /** Who asks, as the audit log names it: `user:<email>`, `key:<id>` (of a user), `cli:<os user>`. */
  readonly actor: string;
}

export const notFound = (message: string) => new OrgtallyError(ErrorType.NotFound, message);

/** The scope of a caller of `org` (default: the account's root org with every permission, as an operator reads). */
export async function scopeOf(
  db: Knex,
  accountId: string,
  org: string = accountId,
  caller: { permissions: ReadonlySet<Permission>; actor: string } = {
    permissions: ALL_PERMISSIONS,
    actor: 'cli:operator',
  },
): Promise<Scope> {
  const account = await db('accounts').where({ id: accountId }).first('id', 'name', 'currency');
  if (!account) {
    const known = await accountIds(db);
    throw notFound(`no account "${accountId}" (accounts: ${known.join(', ') || 'none yet: account apply'})`);
  }
  const tree = await orgTree(db, accountId);
  const visible = subtree(tree, org);
  if (!visible.size) throw notFound(`no org "${org}" in account ${accountId}`);
  return Object.freeze({
    accountId,
    accountName: account.name as string,
    currency: account.currency as string,
    org,
    orgs: new Map(tree.filter((o) => visible.has(o.public_id)).map((o) => [o.public_id, o.name])),
    parentLevel: org === accountId,
    permissions: caller.permissions,
    actor: caller.actor,
  });
}

/** The orgs a query keeps: undefined when the scope sees the whole account (no filter needed). */
export function orgFilter(scope: Scope): string[] | undefined {
  return scope.parentLevel ? undefined : [...scope.orgs.keys()];
}

/** An org named by the caller: one it may see, else "no such org" (a sibling is not told apart from nothing). */
export function requireOrg(scope: Scope, org: string): void {
  if (scope.orgs.has(org)) return;
  throw notFound(
    `no org "${org}" in account ${scope.accountId} (orgs: ${[...scope.orgs.keys()].join(', ')})`,
  );
}

/** Account-level reads (totals, the ledger, estimate errors) need the root org. */
export function requireParentLevel(scope: Scope, what: string): void {
  if (!scope.parentLevel) throw notFound(`${what} of account ${scope.accountId} are read from its root org`);
}

/** The one check of what a caller may do; which orgs it may see is the rest of this file. */
export function authorize(scope: Scope, need: Requirement): void {
  const why = denial(scope, need);
  if (why) throw new OrgtallyError(ErrorType.Forbidden, why);
}
