import type { Knex } from 'knex';
import type { Catalog } from '../domain/records';

/** Every org and product, for validating ingested records without a query per record. */
export async function loadCatalog(db: Knex): Promise<Catalog> {
  const orgs = new Map<string, { id: number; accountId: string }>(
    (await db('orgs').select('id', 'public_id', 'account_id')).map((r) => [
      r.public_id,
      { id: r.id, accountId: r.account_id },
    ]),
  );
  const products = new Map<string, Map<string, number>>();
  for (const r of await db('products').select('id', 'account_id', 'code')) {
    let codes = products.get(r.account_id);
    if (!codes) products.set(r.account_id, (codes = new Map()));
    codes.set(r.code, r.id);
  }
  return {
    org: (publicId) => orgs.get(publicId),
    product: (accountId, code) => products.get(accountId)?.get(code),
  };
}
