import type { Knex } from 'knex';
import {
  createShare,
  findShare,
  lockShare,
  listShares,
  revokeShare,
  rotateShare,
  updateShare,
  type ShareInput,
  type SharePatch,
  type ShareRow,
  type ShareType,
  type OpenShare,
} from '../db/shares';
import { tagKeyHistory } from '../db/console-attribution';
import { COST_READ, denial, SHARE_MANAGE, type Permission } from '../domain/access';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { isEmail } from '../domain/spec';
import { authorize, notFound, requireOrg, scopeOf, type Scope } from './scope';

/**
 * Shared dashboards as the CLI, the API and the console manage them: the one place that checks who may share
 * what. A sharer needs usage_read and dashboards_public_share, sees and shares only orgs of its scope, and can
 * show cost only when it may read cost itself. Input errors name their field, as a 400 does.
 */
export const DEFAULT_SHARE_TTL_MS = 365 * 86_400_000;
export const MAX_LOCKS = 10;

export interface ShareRequest {
  org: string;
  title?: string;
  dashboardType?: string;
  shareType?: ShareType;
  locks?: Record<string, string>;
  showCost?: boolean;
  showCommitment?: boolean;
  /** An instant; default a year from now. */
  expiresAt?: string;
  invitees?: { email: string; access_expiration?: string | null }[];
}

const bad = (message: string) => new OrgtallyError(ErrorType.InvalidInput, message);

export async function sharesInScope(db: Knex, scope: Scope): Promise<ShareRow[]> {
  authorize(scope, SHARE_MANAGE);
  return listShares(db, scope.accountId, scope.parentLevel ? undefined : [...scope.orgs.keys()]);
}

/** A share by id or token; one of an org outside the scope is "no such share", as an unknown one is. */
export async function shareOf(db: Knex | Knex.Transaction, scope: Scope, handle: string): Promise<ShareRow> {
  authorize(scope, SHARE_MANAGE);
  const s = await findShare(db, scope.accountId, handle.trim());
  if (!s || !scope.orgs.has(s.org) || s.state === 'revoked')
    throw notFound(`no shared dashboard "${abbreviate(handle)}" in account ${scope.accountId}`);
  return s;
}

// A token is a secret: an error message never repeats it whole.
const abbreviate = (h: string) => (h.startsWith('ots_') ? `${h.slice(0, 8)}…` : h);

export async function shareDashboard(
  db: Knex,
  scope: Scope,
  r: ShareRequest,
  now: number,
): Promise<{ share: ShareRow; token: string }> {
  authorize(scope, SHARE_MANAGE);
  requireOrg(scope, r.org);
  const input: ShareInput = {
    accountId: scope.accountId,
    org: r.org,
    title: checkTitle(r.title ?? `${scope.orgs.get(r.org)} usage`),
    dashboardType: checkDashboardType(r.dashboardType ?? 'custom_timeboard'),
    shareType: r.shareType ?? (r.invitees?.length ? 'invite' : 'open'),
    locks: await checkLocks(db, scope.accountId, r.locks ?? {}),
    showCost: checkCost(scope, r.showCost ?? false),
    showCommitment: r.showCommitment ?? true,
    expiresAt: checkExpiry(r.expiresAt ?? new Date(now + DEFAULT_SHARE_TTL_MS).toISOString(), now),
    invitees: checkInvitees(r.invitees ?? []),
    actor: scope.actor,
  };
  checkInviteOnly(input.shareType, input.invitees);
  return db.transaction((trx) => createShare(trx, input));
}

export async function changeShare(
  db: Knex,
  scope: Scope,
  handle: string,
  p: Omit<ShareRequest, 'org' | 'dashboardType'> & { status?: 'active' | 'paused' },
  now: number,
): Promise<ShareRow> {
  const patch: SharePatch = {};
  if (p.title !== undefined) patch.title = checkTitle(p.title);
  if (p.shareType !== undefined) patch.shareType = p.shareType;
  if (p.locks !== undefined) patch.locks = await checkLocks(db, scope.accountId, p.locks);
  if (p.showCost !== undefined) patch.showCost = checkCost(scope, p.showCost);
  if (p.showCommitment !== undefined) patch.showCommitment = p.showCommitment;
  if (p.expiresAt !== undefined) patch.expiresAt = checkExpiry(p.expiresAt, now);
  if (p.invitees !== undefined) patch.invitees = checkInvitees(p.invitees);
  if (p.status !== undefined) patch.status = p.status;
  return db.transaction(async (trx) => {
    const before = await lockedShare(trx, scope, handle);
    // Pausing and resuming hand nobody the link; any other change could (new invitees): see cost, need cost.
    if (Object.keys(patch).some((k) => k !== 'status')) checkCostShare(scope, before);
    checkInviteOnly(
      patch.shareType ?? before.share_type,
      patch.invitees ??
        before.invitees.map((i) => ({ email: i.email, access_expiration: i.access_expiration })),
    );
    return updateShare(trx, before, patch, scope.actor);
  });
}

/**
 * The share, locked for the rest of the transaction: two changes of one share (two rotations, a rotation and a
 * revocation) take turns, and the second sees what the first did (a revoked share is "no such share").
 */
async function lockedShare(trx: Knex.Transaction, scope: Scope, handle: string): Promise<ShareRow> {
  const s = await shareOf(trx, scope, handle);
  await lockShare(trx, s.id);
  return shareOf(trx, scope, s.id);
}

/** A share that shows cost is changed or given a new link only by a user who may read cost itself. */
function checkCostShare(scope: Scope, s: ShareRow): void {
  if (s.show_cost && denial(scope, COST_READ))
    throw new OrgtallyError(
      ErrorType.Forbidden,
      'this shared dashboard shows cost: only a user who may read cost (usage_read and billing_read, at the root org) can change it or make a new link; pausing and revoking it are open to you',
    );
}

export async function rotateShareToken(
  db: Knex,
  scope: Scope,
  handle: string,
): Promise<{ share: ShareRow; token: string }> {
  return db.transaction(async (trx) => {
    const s = await lockedShare(trx, scope, handle);
    checkCostShare(scope, s);
    return rotateShare(trx, s, scope.actor);
  });
}

export async function revokeSharedDashboard(db: Knex, scope: Scope, handle: string): Promise<ShareRow> {
  return db.transaction(async (trx) => revokeShare(trx, await lockedShare(trx, scope, handle), scope.actor));
}

/**
 * What a share's viewer may read: the share's org and the orgs below it, with usage_read — and billing_read when
 * the share shows cost — as a user of that org would. The viewer's page reads through nothing else.
 */
export async function viewerScope(db: Knex, share: OpenShare): Promise<Scope> {
  const permissions = new Set<Permission>([
    'usage_read',
    ...(share.show_cost ? (['billing_read'] as const) : []),
  ]);
  return scopeOf(db, share.account_id, share.org, { permissions, actor: `share:${share.id}` });
}

function checkTitle(t: string): string {
  const v = t.trim();
  if (!v || v.length > 200) throw bad('title: give 1 to 200 characters');
  return v;
}

function checkDashboardType(t: string): string {
  if (t !== 'custom_timeboard' && t !== 'custom_screenboard')
    throw bad(`dashboard_type: must be custom_timeboard or custom_screenboard, got "${t}"`);
  return t;
}

function checkCost(scope: Scope, show: boolean): boolean {
  if (show && denial(scope, COST_READ))
    throw bad(
      'show_cost: only a user who may read cost (usage_read and billing_read, at the root org) can share it',
    );
  return show;
}

function checkExpiry(at: string, now: number): string {
  const t = Date.parse(at);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(at))
    throw bad(`expiration: "${at}" is not an ISO 8601 date-time`);
  if (t <= now) throw bad(`expiration: must be in the future, got ${new Date(t).toISOString()}`);
  return new Date(t).toISOString();
}

function checkInvitees(list: NonNullable<ShareRequest['invitees']>): ShareInput['invitees'] {
  const seen = new Set<string>();
  return list.map((i, n) => {
    const email = i.email.trim().toLowerCase();
    if (!isEmail(email)) throw bad(`invitees[${n}].email: "${i.email}" is not an e-mail address`);
    if (seen.has(email)) throw bad(`invitees[${n}].email: ${email} is listed twice`);
    seen.add(email);
    const exp = i.access_expiration ?? null;
    if (exp !== null && Number.isNaN(Date.parse(exp)))
      throw bad(`invitees[${n}].access_expiration: "${exp}" is not an ISO 8601 date-time`);
    return { email, access_expiration: exp && new Date(Date.parse(exp)).toISOString() };
  });
}

function checkInviteOnly(type: ShareType, invitees: readonly unknown[]): void {
  if (type === 'invite' && !invitees.length)
    throw bad('invitees: an invite-only share needs at least one invited e-mail address');
}

/** Locks name tag keys the account attributes by (now or before), each with one value. */
async function checkLocks(
  db: Knex,
  accountId: string,
  locks: Record<string, string>,
): Promise<Record<string, string>> {
  const entries = Object.entries(locks);
  if (entries.length > MAX_LOCKS) throw bad(`locks: at most ${MAX_LOCKS}, got ${entries.length}`);
  if (!entries.length) return {};
  const known = new Set((await tagKeyHistory(db, accountId)).flatMap((h) => h.tag_keys).sort());
  const out: Record<string, string> = {};
  for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!known.has(k))
      throw bad(
        `locks: "${k}" is not a tag key of ${accountId} (its keys: ${[...known].join(', ') || 'none yet'})`,
      );
    if (!v.trim() || v.length > 200) throw bad(`locks: ${k} needs a value, e.g. ${k}=prod`);
    out[k] = v.trim();
  }
  return out;
}
