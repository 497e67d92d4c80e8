import type { Knex } from 'knex';
import { applyAccountSpec } from '../../db/accounts';
import { accessSpec } from './api';
import { parseSpec, TEST_AS_OF } from './fixtures';

/**
 * Runs `fn` with the API fixture's account changed as an operator changes it (the spec, through account apply),
 * then puts the spec's own back: the other tests of the file keep theirs.
 */
export async function withSpec<T>(
  db: Knex,
  change: (spec: Record<string, unknown>) => Record<string, unknown>,
  fn: () => Promise<T>,
): Promise<T> {
  const spec: Record<string, unknown> = accessSpec();
  const apply = (s: Record<string, unknown>) =>
    applyAccountSpec(db, parseSpec(s), { asOfMs: TEST_AS_OF, actor: 'test' });
  await apply(change(structuredClone(spec)));
  try {
    return await fn();
  } finally {
    await apply(spec);
  }
}

/** `spec` with the account's currency set (`account.currency`). */
export const currencyOf =
  (currency: string) =>
  (spec: Record<string, unknown>): Record<string, unknown> => ({
    ...spec,
    account: { ...(spec.account as object), currency },
  });

/** Runs `fn` with the account in another currency (see withSpec). */
export const inCurrency = <T>(db: Knex, currency: string, fn: () => Promise<T>): Promise<T> =>
  withSpec(db, currencyOf(currency), fn);

/** The products of a closed month's latest version without a price (both prices 0), from its rows. */
export async function unpricedIn(db: Knex, accountId: string, month: string): Promise<string[]> {
  const { rows } = await db.raw(
    `SELECT usage_type FROM month_end_totals
      WHERE account_id = ? AND month = CAST(? AS date) AND committed_price = 0 AND on_demand_price = 0
        AND version = (SELECT max(version) FROM month_end_versions WHERE account_id = ? AND month = CAST(? AS date))
      ORDER BY usage_type COLLATE "C"`,
    [accountId, `${month}-01`, accountId, `${month}-01`],
  );
  return rows.map((r: { usage_type: string }) => r.usage_type);
}
