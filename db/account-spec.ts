import type { Knex } from 'knex';
import { dayInZone } from '../domain/calendar';

/**
 * The account as a spec (the JSON `account apply` takes), read back from its tables: an API change to one section
 * is this spec with that section replaced, validated and applied like a file — one path for every change. The
 * `access` section is left out, so such an apply leaves users and roles alone.
 */
export async function currentSpec(
  db: Knex,
  accountId: string,
  asOfMs: number,
): Promise<Record<string, unknown>> {
  const a = await db('accounts').where({ id: accountId }).first();
  const orgs = await db('orgs as o')
    .leftJoin('orgs as p', 'p.id', 'o.parent_id')
    .where('o.account_id', accountId)
    .orderBy('o.id')
    .select('o.public_id', 'o.name', 'p.public_id as parent', 'o.billable', 'o.billing_contact');
  const products = await db('products').where({ account_id: accountId }).orderBy('id');
  const commitments = await db('commitments').where({ account_id: accountId }).orderBy('product_code');
  const today = dayInZone(asOfMs, a.timezone);
  const keys = await db('attribution_tag_keys')
    .where({ account_id: accountId })
    .where('effective_from', '<=', today)
    .orderBy('effective_from', 'desc')
    .first('tag_keys');
  const recipients = await db('finance_recipients')
    .where({ account_id: accountId })
    .orderBy('email')
    .pluck('email');
  const rules = await db('alert_rules')
    .where({ account_id: accountId })
    .orderBy('rule_id')
    .pluck('definition');
  const num = (v: string) => v.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  return {
    account: {
      id: a.id,
      name: a.name,
      timezone: a.timezone,
      currency: a.currency,
      lateness: `${a.lateness_hours}h`,
      p99_drop_percent: num(String(a.p99_drop_percent)),
    },
    orgs: orgs.map(
      (o: {
        public_id: string;
        name: string;
        parent: string | null;
        billable: boolean;
        billing_contact: string | null;
      }) => ({
        id: o.public_id,
        name: o.name,
        ...(o.parent === null ? {} : { parent: o.parent }),
        billable: o.billable,
        ...(o.billing_contact === null ? {} : { billing_contact: o.billing_contact }),
      }),
    ),
    products: products.map((p) => ({
      code: p.code,
      unit: p.unit,
      aggregation: p.aggregation,
      ...(p.allotment_per === null
        ? {}
        : { allotment: { per: p.allotment_per, quantity: num(String(p.allotment_quantity)) } }),
      on_demand: p.on_demand_mode,
    })),
    commitments: commitments.map((c) => ({
      product: c.product_code,
      quantity: num(String(c.quantity)),
      committed_price: num(String(c.committed_price)),
      on_demand_price: num(String(c.on_demand_price)),
    })),
    attribution: { tag_keys: keys?.tag_keys ?? [] },
    finance: { recipients },
    alerts: rules,
  };
}
