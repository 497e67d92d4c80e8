import { randomBytes, randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { audit } from './audit';
import { digest } from './keys';

/**
 * Owner of shares and their invitees, codes, viewer sessions and misses. A share's link token is 256 random bits
 * shown once (at creation and at each rotation); the table holds its SHA-256 digest. Who may share what is
 * checked above (queries/shares.ts); this file only keeps the rows and writes their audit rows.
 */
export type ShareType = 'open' | 'invite';
export type ShareStatus = 'active' | 'paused';
/** What the list shows: the stored status, or why the link opens nothing any more. */
export type ShareState = ShareStatus | 'expired' | 'revoked';

export interface Invitee {
  email: string;
  access_expiration: string | null;
  created_at: string;
}

export interface ShareRow {
  id: string;
  account_id: string;
  org: string;
  org_name: string;
  title: string;
  dashboard_type: string;
  share_type: ShareType;
  locks: Record<string, string>;
  show_cost: boolean;
  show_commitment: boolean;
  status: ShareStatus;
  state: ShareState;
  expires_at: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  revoked_at: string | null;
  last_accessed_at: string | null;
  invitees: Invitee[];
}

export interface ShareInput {
  accountId: string;
  org: string;
  title: string;
  dashboardType: string;
  shareType: ShareType;
  locks: Record<string, string>;
  showCost: boolean;
  showCommitment: boolean;
  expiresAt: string;
  invitees: { email: string; access_expiration: string | null }[];
  actor: string;
}

export type SharePatch = Partial<
  Pick<ShareInput, 'title' | 'shareType' | 'locks' | 'showCost' | 'showCommitment' | 'expiresAt' | 'invitees'>
> & { status?: ShareStatus };

const TOKEN_PREFIX = 'ots_';
const newToken = () => TOKEN_PREFIX + randomBytes(32).toString('base64url');
const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const SELECT = `SELECT s.id, s.account_id, o.public_id AS org, o.name AS org_name, s.title, s.dashboard_type,
    s.share_type, s.locks, s.show_cost, s.show_commitment, s.status,
    CASE WHEN s.revoked_at IS NOT NULL THEN 'revoked' WHEN s.expires_at <= now() THEN 'expired' ELSE s.status END
      AS state,
    s.expires_at, s.created_by, s.created_at, s.updated_at, s.revoked_at, s.last_accessed_at,
    COALESCE((SELECT json_agg(json_build_object('email', i.email, 'access_expiration', i.access_expiration,
                'created_at', i.created_at) ORDER BY i.email)
                FROM share_invitees i WHERE i.share_id = s.id), '[]') AS invitees
  FROM shares s JOIN orgs o ON o.id = s.org_id`;

type Raw = Omit<ShareRow, 'invitees'> & {
  invitees: { email: string; access_expiration: string | null; created_at: string }[];
};

function shape(r: Raw): ShareRow {
  return {
    ...r,
    expires_at: iso(r.expires_at) as string,
    created_at: iso(r.created_at) as string,
    updated_at: iso(r.updated_at) as string,
    revoked_at: iso(r.revoked_at),
    last_accessed_at: iso(r.last_accessed_at),
    invitees: r.invitees.map((i) => ({
      email: i.email,
      access_expiration: iso(i.access_expiration),
      created_at: iso(i.created_at) as string,
    })),
  };
}

/** An account's shares (every state), oldest first; `orgs`: only shares of these orgs. */
export async function listShares(db: Knex, accountId: string, orgs?: readonly string[]): Promise<ShareRow[]> {
  const { rows } = await db.raw(
    `${SELECT} WHERE s.account_id = ? ${orgs ? 'AND o.public_id IN (SELECT jsonb_array_elements_text(?::jsonb))' : ''}
      ORDER BY s.created_at, s.id`,
    orgs ? [accountId, JSON.stringify(orgs)] : [accountId],
  );
  return rows.map(shape);
}

/** A share by its id or by its link token (the Datadog API addresses a share by its token). */
export async function findShare(
  db: Knex | Knex.Transaction,
  accountId: string,
  handle: string,
): Promise<ShareRow | undefined> {
  const byId = UUID.test(handle);
  if (!byId && !handle.startsWith(TOKEN_PREFIX)) return undefined;
  const { rows } = await db.raw(
    `${SELECT} WHERE s.account_id = ? AND ${byId ? 's.id = ?::uuid' : 's.digest = ?'}`,
    [accountId, byId ? handle : digest(handle)],
  );
  return rows[0] && shape(rows[0]);
}

async function orgId(trx: Knex.Transaction, accountId: string, org: string): Promise<number> {
  const row = await trx('orgs').where({ account_id: accountId, public_id: org }).first('id');
  if (!row) throw new OrgtallyError(ErrorType.NotFound, `no org "${org}" in account ${accountId}`);
  return row.id;
}

async function putInvitees(
  trx: Knex.Transaction,
  shareId: string,
  list: ShareInput['invitees'],
): Promise<void> {
  await trx('share_invitees').where({ share_id: shareId }).delete();
  if (list.length)
    await trx('share_invitees').insert(
      list.map((i) => ({ share_id: shareId, email: i.email, access_expiration: i.access_expiration })),
    );
  // An address taken off the list loses its viewer sessions at once.
  await trx.raw(
    `DELETE FROM share_sessions ss WHERE ss.share_id = ?
       AND NOT EXISTS (SELECT 1 FROM share_invitees i WHERE i.share_id = ss.share_id AND i.email = ss.email)`,
    [shareId],
  );
}

export async function createShare(
  trx: Knex.Transaction,
  s: ShareInput,
): Promise<{ share: ShareRow; token: string }> {
  const token = newToken();
  const [row] = await trx('shares')
    .insert({
      account_id: s.accountId,
      org_id: await orgId(trx, s.accountId, s.org),
      digest: digest(token),
      title: s.title,
      dashboard_type: s.dashboardType,
      share_type: s.shareType,
      locks: JSON.stringify(s.locks),
      show_cost: s.showCost,
      show_commitment: s.showCommitment,
      expires_at: s.expiresAt,
      created_by: s.actor,
    })
    .returning('id');
  await putInvitees(trx, row.id, s.invitees);
  const share = (await findShare(trx, s.accountId, row.id)) as ShareRow;
  await audit(trx, {
    accountId: s.accountId,
    actor: s.actor,
    action: 'share.create',
    target: `share:${share.id}`,
    after: auditView(share),
  });
  return { share, token };
}

export async function updateShare(
  trx: Knex.Transaction,
  before: ShareRow,
  patch: SharePatch,
  actor: string,
): Promise<ShareRow> {
  const set: Record<string, unknown> = {};
  if (patch.title !== undefined) set.title = patch.title;
  if (patch.shareType !== undefined) set.share_type = patch.shareType;
  if (patch.locks !== undefined) set.locks = JSON.stringify(patch.locks);
  if (patch.showCost !== undefined) set.show_cost = patch.showCost;
  if (patch.showCommitment !== undefined) set.show_commitment = patch.showCommitment;
  if (patch.expiresAt !== undefined) set.expires_at = patch.expiresAt;
  if (patch.status !== undefined) set.status = patch.status;
  await trx('shares')
    .where({ id: before.id })
    .update({ ...set, updated_at: trx.fn.now() });
  if (patch.invitees !== undefined) await putInvitees(trx, before.id, patch.invitees);
  const after = (await findShare(trx, before.account_id, before.id)) as ShareRow;
  const action =
    Object.keys(set).length === 1 && patch.status !== undefined && patch.invitees === undefined
      ? patch.status === 'paused'
        ? 'share.pause'
        : 'share.resume'
      : 'share.update';
  await audit(trx, {
    accountId: before.account_id,
    actor,
    action,
    target: `share:${before.id}`,
    before: auditView(before),
    after: auditView(after),
  });
  return after;
}

/** Holds the share's row until the transaction ends: its changes, and the codes sent for it, take turns. */
export async function lockShare(trx: Knex.Transaction, id: string): Promise<void> {
  await trx.raw('SELECT 1 FROM shares WHERE id = ? FOR UPDATE', [id]);
}

/** A new token for the same share: the old link opens nothing from the next request on. */
export async function rotateShare(
  trx: Knex.Transaction,
  share: ShareRow,
  actor: string,
): Promise<{ share: ShareRow; token: string }> {
  const token = newToken();
  await trx('shares')
    .where({ id: share.id })
    .update({ digest: digest(token), updated_at: trx.fn.now() });
  await trx('share_sessions').where({ share_id: share.id }).delete();
  await audit(trx, {
    accountId: share.account_id,
    actor,
    action: 'share.rotate',
    target: `share:${share.id}`,
  });
  return { share: (await findShare(trx, share.account_id, share.id)) as ShareRow, token };
}

/** Revoked for good: the row stays for the list and the audit log; the link and its viewer sessions end. */
export async function revokeShare(trx: Knex.Transaction, share: ShareRow, actor: string): Promise<ShareRow> {
  await trx('shares').where({ id: share.id }).update({ revoked_at: trx.fn.now(), updated_at: trx.fn.now() });
  await trx('share_sessions').where({ share_id: share.id }).delete();
  await audit(trx, {
    accountId: share.account_id,
    actor,
    action: 'share.revoke',
    target: `share:${share.id}`,
  });
  return (await findShare(trx, share.account_id, share.id)) as ShareRow;
}

const auditView = (s: ShareRow) => ({
  org: s.org,
  title: s.title,
  share_type: s.share_type,
  locks: s.locks,
  show_cost: s.show_cost,
  show_commitment: s.show_commitment,
  status: s.status,
  expires_at: s.expires_at,
  invitees: s.invitees.map((i) => i.email),
});

/** What the viewer's page needs of a share that opens. */
export interface OpenShare {
  id: string;
  account_id: string;
  org: string;
  title: string;
  share_type: ShareType;
  locks: Record<string, string>;
  show_cost: boolean;
  show_commitment: boolean;
  expires_at: string;
}

/**
 * The viewer's lookup: one indexed query whatever the reason a link opens nothing (unknown, paused, expired,
 * revoked), so none of them is told apart by its answer or its time. Records the access, at most once a minute.
 */
export async function openShare(db: Knex, token: string): Promise<OpenShare | undefined> {
  // A read, and a write only when the recorded access is a minute old: a busy link does not write every view.
  const { rows } = await db.raw(
    `WITH s AS (
       SELECT s.id, s.account_id, o.public_id AS org, s.title, s.share_type, s.locks, s.show_cost,
              s.show_commitment, s.expires_at, s.last_accessed_at
         FROM shares s JOIN orgs o ON o.id = s.org_id
        WHERE s.digest = ? AND s.status = 'active' AND s.revoked_at IS NULL AND s.expires_at > now()),
     touched AS (
       UPDATE shares t SET last_accessed_at = now() FROM s
        WHERE t.id = s.id AND (s.last_accessed_at IS NULL OR s.last_accessed_at < now() - interval '1 minute')
       RETURNING t.id)
     SELECT id, account_id, org, title, share_type, locks, show_cost, show_commitment, expires_at FROM s`,
    [digest(token)],
  );
  const r = rows[0];
  return r && { ...r, expires_at: iso(r.expires_at) };
}

export async function recordMiss(db: Knex, address: string): Promise<void> {
  await db('share_misses').insert({ address });
}

export async function recentMisses(db: Knex, address: string, windowMs: number): Promise<number> {
  const { rows } = await db.raw(
    `SELECT count(*)::int AS n FROM share_misses WHERE address = ? AND at > now() - CAST(? AS interval)`,
    [address, `${windowMs} milliseconds`],
  );
  return rows[0].n;
}

/** An invitee's current access to a share (its own expiry, when it has one, still ahead). */
async function invited(db: Knex | Knex.Transaction, shareId: string, email: string): Promise<boolean> {
  const { rows } = await db.raw(
    `SELECT 1 FROM share_invitees WHERE share_id = ? AND email = ?
        AND (access_expiration IS NULL OR access_expiration > now())`,
    [shareId, email],
  );
  return rows.length > 0;
}

/**
 * A one-time code for an invited address (8 digits, digest only), or undefined for any other address: the viewer
 * is told the same either way, so the page does not say who is invited.
 */
export async function issueCode(
  trx: Knex.Transaction,
  q: { shareId: string; email: string; ttlMs: number },
): Promise<{ id: string; code: string; expiresAt: string } | undefined> {
  if (!(await invited(trx, q.shareId, q.email))) return undefined;
  await lockShare(trx, q.shareId); // the count below and the insert, one request at a time
  // Asking again and again must not flood an invitee's mailbox: past the limit, no new code (and no mail).
  const { rows: recent } = await trx.raw(
    `SELECT count(*)::int AS n FROM share_codes
      WHERE share_id = ? AND email = ? AND created_at > now() - CAST(? AS interval)`,
    [q.shareId, q.email, `${q.ttlMs} milliseconds`],
  );
  if (recent[0].n >= CODES_PER_TTL) return undefined;
  const code = String(randomInt(0, 100_000_000)).padStart(8, '0');
  const [row] = await trx('share_codes')
    .insert({
      share_id: q.shareId,
      email: q.email,
      digest: digest(`${q.shareId}:${q.email}:${code}`),
      expires_at: trx.raw(`now() + ?::interval`, [`${q.ttlMs} milliseconds`]),
    })
    .returning(['id', 'expires_at']);
  return { id: row.id, code, expiresAt: iso(row.expires_at) as string };
}

export const CODE_TRIES = 5;
/** Codes one address may be sent for one share within a code's lifetime. */
export const CODES_PER_TTL = 3;

/** Uses the address's latest live code up when it matches; every try counts against it. */
export async function redeemCode(
  trx: Knex.Transaction,
  q: { shareId: string; email: string; code: string },
): Promise<boolean> {
  const { rows } = await trx.raw(
    `UPDATE share_codes c SET tries = tries + 1,
            used_at = CASE WHEN c.digest = :digest THEN now() END
      WHERE c.id = (SELECT id FROM share_codes WHERE share_id = :share AND email = :email AND used_at IS NULL
                      AND expires_at > now() AND tries < :tries ORDER BY created_at DESC LIMIT 1)
        -- Again outside the subquery: a request that waited for this row's lock sees the row as the other left it.
        AND c.used_at IS NULL AND c.tries < :tries AND c.expires_at > now()
     RETURNING used_at IS NOT NULL AS ok`,
    {
      digest: digest(`${q.shareId}:${q.email}:${q.code}`),
      share: q.shareId,
      email: q.email,
      tries: CODE_TRIES,
    },
  );
  return rows[0]?.ok === true && (await invited(trx, q.shareId, q.email));
}

export async function startViewerSession(
  db: Knex | Knex.Transaction,
  q: { shareId: string; email: string; ttlMs: number },
): Promise<{ token: string; expiresAt: string }> {
  const token = `otv_${randomBytes(32).toString('base64url')}`;
  const [row] = await db('share_sessions')
    .insert({
      digest: digest(token),
      share_id: q.shareId,
      email: q.email,
      expires_at: db.raw(`now() + ?::interval`, [`${q.ttlMs} milliseconds`]),
    })
    .returning('expires_at');
  return { token, expiresAt: iso(row.expires_at) as string };
}

/** The invitee a viewer cookie stands for, while the session lasts and the address is still invited. */
export async function viewerOf(db: Knex, shareId: string, token: string): Promise<string | undefined> {
  const { rows } = await db.raw(
    `SELECT ss.email FROM share_sessions ss
       JOIN share_invitees i ON i.share_id = ss.share_id AND i.email = ss.email
      WHERE ss.digest = ? AND ss.share_id = ? AND ss.expires_at > now()
        AND (i.access_expiration IS NULL OR i.access_expiration > now())`,
    [digest(token), shareId],
  );
  return rows[0]?.email;
}
