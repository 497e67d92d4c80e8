import type { Knex } from 'knex';
import { storedTrends, type StoredTrend } from '../db/trends';
import type { View } from '../domain/trends';
import { checkMonth } from '../domain/month-end';
import { notFound, orgFilter, requireOrg, type Scope } from './scope';

export interface TrendsReport {
  months: string[];
  missingMonths: string[];
  /** Org rows the caller may see; the account's own rows from the root org only. */
  rows: StoredTrend[];
  /** Top movers rank orgs against each other: the root org's view only. */
  movers: Record<string, unknown>[];
}

export async function trendsReport(
  db: Knex,
  scope: Scope,
  q: { month: string; view?: View; org?: string },
): Promise<TrendsReport> {
  checkMonth(q.month);
  if (q.org !== undefined) requireOrg(scope, q.org);
  const t = await storedTrends(db, { accountId: scope.accountId, ...q, orgs: orgFilter(scope) });
  if (!t)
    throw notFound(
      `no trends for ${scope.accountId} ${q.month}: run \`orgtally run trends --account ${scope.accountId} ` +
        `--month ${q.month} --wait\` (every month-end computes them)`,
    );
  return {
    months: t.months,
    missingMonths: t.missingMonths,
    rows: t.rows,
    movers: scope.parentLevel ? t.movers : [],
  };
}
