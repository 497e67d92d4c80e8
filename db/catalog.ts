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
  const products = new Map<string, number>(
    (await db('products').select('id', 'account_id', 'code')).map((r) => [
      `${r.account_id}\n${r.code}`,
      r.id,
    ]),
  );
  return {
    org: (publicId) => orgs.get(publicId),
    product: (accountId, code) => products.get(`${accountId}\n${code}`),
  };
}
