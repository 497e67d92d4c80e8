import type { Knex } from 'knex';
import { ErrorType, OrgtallyError } from '../domain/errors';
import {
  statementScope,
  StatementReference,
  type ScopeOrg,
  type StatementModel,
  type StatementPrice,
} from '../domain/statement';
import { byOrg, requireVersion, type VersionRow } from './month-end-report';

/** Reads for client statements: who gets one, the org's subtree, and a version's figures for that subtree. */

export interface StatementRecipient {
  public_id: string;
  billing_contact: string;
}

/** Every org of the account, with its billing contact (null: none). */
async function accountOrgs(
  db: Knex,
  accountId: string,
): Promise<(ScopeOrg & { billing_contact: string | null })[]> {
  return db('orgs as o')
    .leftJoin('orgs as p', 'p.id', 'o.parent_id')
    .where('o.account_id', accountId)
    .orderByRaw('o.public_id COLLATE "C"')
    .select('o.public_id', 'o.name', 'p.public_id as parent', 'o.billing_contact');
}

/**
 * One reference per client org with a billing contact: the version's frame (status, zone, currency) and the
 * org's subtree as the tree stands now, frozen into the ledger row. The root org is never one: its statement
 * would be the account's, which is the finance mail's.
 */
export async function statementReferences(
  db: Knex,
  ref: { accountId: string; month: string; version: number },
): Promise<{ recipient: string; reference: StatementReference }[]> {
  const v = await requireVersion(db, ref.accountId, ref.month, ref.version);
  const orgs = await accountOrgs(db, ref.accountId);
  return orgs
    .filter((o) => o.billing_contact !== null && o.parent !== null)
    .map((o) => ({
      recipient: o.billing_contact as string,
      reference: {
        month: v.month,
        version: v.version,
        org: o.public_id,
        status: v.issued_status,
        data_complete_through: v.data_complete_through,
        timezone: v.timezone,
        currency: v.currency,
        scope: statementScope(orgs, o.public_id),
      },
    }));
}

/** Unit and prices per product of the version (month_end_totals: only these columns, never its figures). */
async function versionPrices(db: Knex, v: VersionRow): Promise<StatementPrice[]> {
  return db('month_end_totals')
    .where({ account_id: v.account_id, month: `${v.month}-01`, version: v.version })
    .orderByRaw('usage_type COLLATE "C"')
    .select(
      'usage_type',
      'unit',
      db.raw('trim_scale(committed_price)::text AS committed_price'),
      db.raw('trim_scale(on_demand_price)::text AS on_demand_price'),
    );
}

/** The statement a ledger row stands for: its frozen frame and the version's rows of the orgs in its scope. */
export async function readStatement(
  db: Knex,
  accountId: string,
  reference: unknown,
): Promise<{ model: StatementModel; computedAt: string }> {
  const parsed = StatementReference.safeParse(reference);
  if (!parsed.success) {
    throw new OrgtallyError(ErrorType.InvalidInput, `not a statement reference: ${parsed.error.message}`);
  }
  const r = parsed.data;
  if (r.scope[0]?.public_id !== r.org) {
    throw new OrgtallyError(ErrorType.InvalidInput, `statement of ${r.org}: its scope must start with it`);
  }
  const v = await requireVersion(db, accountId, r.month, r.version);
  const rows = await byOrg(
    db,
    v,
    r.scope.map((o) => o.public_id),
  );
  return { model: { ...r, rows, prices: await versionPrices(db, v) }, computedAt: v.computed_at };
}
