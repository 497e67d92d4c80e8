import type { Knex } from 'knex';
import { attributionRows } from '../db/attribution-report';
import { checkDay } from '../domain/attribution';
import { notFound, orgFilter, type Scope } from './scope';

/** A product code of the account, else an error naming the account's products. */
export async function requireProduct(db: Knex, scope: Scope, code: string): Promise<void> {
  const codes = (
    await db('products').where({ account_id: scope.accountId }).orderBy('code').select('code')
  ).map((r: { code: string }) => r.code);
  if (!codes.includes(code))
    throw notFound(`no product "${code}" in account ${scope.accountId} (products: ${codes.join(', ')})`);
}

/** A day's attributed hourly rows of the orgs in scope (optionally one product). */
export async function attributionDay(db: Knex, scope: Scope, q: { day: string; product?: string }) {
  checkDay(q.day);
  if (q.product !== undefined) await requireProduct(db, scope, q.product);
  const res = await attributionRows(db, { accountId: scope.accountId, ...q, orgs: orgFilter(scope) });
  if (!res)
    throw notFound(
      `${scope.accountId} ${q.day} has not been attributed: run \`orgtally run attribution --account ` +
        `${scope.accountId} --day ${q.day}\``,
    );
  return res;
}
