import type { Knex } from 'knex';

/**
 * Owner of audit_log: one row per change, written in the transaction of the change itself, so a change and its
 * record commit together or not at all. The table refuses updates and deletes (triggers in the migration).
 */
export interface AuditEntry {
  accountId: string | null;
  /** `user:<email>` / `key:<id> (<email>)` / `cli:<os user>`. */
  actor: string;
  /** A dotted verb: role.create, user.add, key.revoke, spec.apply, tag_keys.update, backfill.start, … */
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

export async function audit(trx: Knex | Knex.Transaction, e: AuditEntry): Promise<void> {
  await trx('audit_log').insert({
    account_id: e.accountId,
    actor: e.actor,
    action: e.action,
    target: e.target,
    before: e.before === undefined ? null : JSON.stringify(e.before),
    after: e.after === undefined ? null : JSON.stringify(e.after),
  });
}

export interface AuditRow {
  id: string;
  account_id: string | null;
  at: string;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

/** Newest first, from an id down (the API pages by id); `since` is an instant. */
export async function auditRows(
  db: Knex,
  q: { accountId?: string; since?: string; beforeId?: string; limit: number },
): Promise<AuditRow[]> {
  const rows = await db('audit_log')
    .modify((b) => {
      if (q.accountId !== undefined) b.where('account_id', q.accountId);
      if (q.since !== undefined) b.where('at', '>=', q.since);
      if (q.beforeId !== undefined) b.where('id', '<', q.beforeId);
    })
    .orderBy('id', 'desc')
    .limit(q.limit)
    .select('id', 'account_id', 'at', 'actor', 'action', 'target', 'before', 'after');
  return rows.map((r: AuditRow) => ({ ...r, id: String(r.id), at: new Date(r.at).toISOString() }));
}
