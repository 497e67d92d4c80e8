import { auditRows, type AuditRow } from '../../db/audit';
import { auditAbout, type ConsoleKey, type ConsoleUser } from '../../db/console-access';
import type { PageCtx } from '../page';

/**
 * The audit log the page shows. The root org sees the account's latest rows. A child org's user sees the rows
 * about the users and keys of its orgs (what it can see listed above) and nothing else — no spec, role or
 * sibling's row; within those rows, a user of another org who acted, or an org outside its subtree that a user
 * moved from, is not named.
 */
export const AUDIT_ROWS = 100;
const OUTSIDE = '(outside your organizations)';

export async function auditFor(
  ctx: PageCtx,
  users: readonly ConsoleUser[],
  keys: readonly ConsoleKey[],
): Promise<AuditRow[]> {
  const { db, scope } = ctx;
  if (scope.parentLevel) return auditRows(db, { accountId: scope.accountId, limit: AUDIT_ROWS });
  const targets = [...users.map((u) => `user:${u.email}`), ...keys.map((k) => `key:${k.id}`)];
  const rows = await auditAbout(db, scope.accountId, targets, AUDIT_ROWS);
  const emails = new Set(users.map((u) => u.email));
  const keyIds = new Set(keys.map((k) => k.id));
  const knownActor = (actor: string) => {
    const user = /^user:(.+)$/.exec(actor)?.[1];
    if (user !== undefined) return emails.has(user);
    const key = /^key:([^ ]+) \((.+)\)$/.exec(actor);
    return key !== null && keyIds.has(key[1] as string) && emails.has(key[2] as string);
  };
  const orgsIn = (v: unknown): unknown => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    return typeof o.org === 'string' && !scope.orgs.has(o.org) ? { ...o, org: OUTSIDE } : o;
  };
  return rows.map((r) => ({
    ...r,
    actor: knownActor(r.actor) ? r.actor : `someone ${OUTSIDE}`,
    before: orgsIn(r.before),
    after: orgsIn(r.after),
  }));
}
