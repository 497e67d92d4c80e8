import { consoleUsers, type ConsoleUser } from '../../db/console-access';
import { ACCESS_MANAGE, type Requirement } from '../../domain/access';
import { ErrorType, OrgtallyError } from '../../domain/errors';
import { notFound, orgFilter, type Scope } from '../../queries/scope';
import type { PageCtx } from '../page';

/**
 * What a manager may do on the Access page, beyond holding user_access_manage:
 * - it acts on users (and their keys) of its own orgs only, as it sees only those;
 * - it never hands out a permission it does not hold itself (a role it grants, a role it creates), and it does
 *   not remove a user or revoke a key of a user who holds one it lacks — otherwise a user_access_manage holder
 *   could make itself, or take away, more than it is;
 * - roles are the account's: creating and deleting one is for the root org's managers (as the API's roles).
 */
export const ROLE_MANAGE: Requirement = { ...ACCESS_MANAGE, parentOnly: true };

export const invalid = (m: string) => new OrgtallyError(ErrorType.InvalidInput, m);

export const lacking = (scope: Scope, permissions: Iterable<string>): string[] =>
  [...new Set(permissions)].filter((p) => !(scope.permissions as ReadonlySet<string>).has(p)).sort();

/** A user of the caller's orgs, by e-mail; any other address is "no such user", as an unknown one is. */
export async function userInScope(ctx: PageCtx, email: string): Promise<ConsoleUser> {
  const e = email.trim().toLowerCase();
  const u = (await consoleUsers(ctx.db, ctx.scope.accountId, orgFilter(ctx.scope))).find(
    (x) => x.email === e,
  );
  if (!u) throw notFound(`no user ${e} in your organizations`);
  return u;
}

/** Refuses acting on a user who holds more than the caller. */
export function checkNotAbove(scope: Scope, u: ConsoleUser, what: string): void {
  const more = lacking(scope, u.permissions);
  if (more.length)
    throw invalid(
      `You cannot ${what} ${u.email}: that user holds ${more.join(', ')}, which you do not hold. Ask a user who holds them.`,
    );
}

/** The names of the form's checked boxes `<prefix><name>`, among the allowed names. */
export function checked(form: Record<string, string>, prefix: string, allowed: readonly string[]): string[] {
  return allowed.filter((n) => form[`${prefix}${n}`] === 'yes');
}
