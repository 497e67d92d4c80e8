import type { Knex } from 'knex';
import {
  byOrg,
  byTag,
  findVersion,
  monthStatus,
  totals,
  type MonthStatus,
  type VersionRow,
} from '../db/month-end-report';
import type { OrgRow, TagRow, TotalRow } from '../domain/month-end-report';
import { checkMonth } from '../domain/month-end';
import { unpricedOf } from './prices';
import { notFound, orgFilter, type Scope } from './scope';

/** `priced: false`: the product has no price in the version (both prices 0), so its cost is not a cost of 0. */
export type Priced<T> = T & { priced: boolean };

/** A closed month's figures as a caller may see them: the account's totals from the root org only. */
export interface MonthEndReport {
  version: VersionRow;
  /** ISO 4217: the currency of every amount. */
  currency: string;
  /** Undefined for a caller below the root org: the account's totals are everyone's usage. */
  totals: Priced<TotalRow>[] | undefined;
  by_org: Priced<OrgRow>[];
  by_tag: Priced<TagRow>[];
}

const versionsText = (v: number[]) =>
  v.length === 1 ? `version 1 only` : `versions 1 to ${v[v.length - 1]}`;

/**
 * The version asked for (default: the latest) of a month that has ended and been closed; each other case is
 * an error that says which it is and what to do.
 */
export async function closedVersion(
  db: Knex,
  scope: Scope,
  q: { month: string; version?: number; asOf: string },
): Promise<VersionRow> {
  checkMonth(q.month);
  const st: MonthStatus = await monthStatus(db, scope.accountId, q.month, q.asOf);
  if (!st.versions.length) {
    if (!st.ended)
      throw notFound(
        `${scope.accountId} ${q.month} has not ended (it ends ${st.end}): \`report summary --month ${q.month}\` ` +
          `shows it so far`,
      );
    throw notFound(
      `${scope.accountId} ${q.month} has not been closed: run \`orgtally run month-end --account ` +
        `${scope.accountId} --month ${q.month}\``,
    );
  }
  if (q.version !== undefined && !st.versions.includes(q.version))
    throw notFound(
      `${scope.accountId} ${q.month} has ${versionsText(st.versions)}; there is no version ${q.version}`,
    );
  return (await findVersion(db, scope.accountId, q.month, q.version)) as VersionRow;
}

export async function monthEndReport(
  db: Knex,
  scope: Scope,
  q: { month: string; version?: number; asOf: string; parts?: ('totals' | 'by_org' | 'by_tag')[] },
): Promise<MonthEndReport> {
  const v = await closedVersion(db, scope, q);
  const want = new Set(q.parts ?? ['totals', 'by_org', 'by_tag']);
  // The version's totals say which products it priced (one row per product); every row part needs that.
  const all = await totals(db, v);
  const unpriced = new Set(unpricedOf(all));
  const priced = <T extends { usage_type: string }>(rows: T[]): Priced<T>[] =>
    rows.map((r) => ({ ...r, priced: !unpriced.has(r.usage_type) }));
  return {
    version: v,
    currency: scope.currency,
    totals: scope.parentLevel && want.has('totals') ? priced(all) : undefined,
    by_org: want.has('by_org') ? priced(await byOrg(db, v, orgFilter(scope))) : [],
    by_tag: want.has('by_tag') ? priced(await byTag(db, v, { orgs: orgFilter(scope) })) : [],
  };
}
