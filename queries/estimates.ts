import type { Knex } from 'knex';
import { estimateErrors, estimateReport, type EstimateErrorRow } from '../db/estimate-reads';
import { isoHour, HOUR_MS } from '../domain/time';
import { checkMonth } from '../domain/month-end';
import { notFound, requireParentLevel, type Scope } from './scope';

type Report = NonNullable<Awaited<ReturnType<typeof estimateReport>>>;

/** The latest stored estimate (or the run of as-of's hour): totals from the root org only, org rows in scope. */
export async function latestEstimate(
  db: Knex,
  scope: Scope,
  q: { asOf?: string },
): Promise<{ run: Report['run']; totals: Report['totals'] | undefined; orgs: Report['orgs'] }> {
  const r = await estimateReport(db, scope.accountId, q.asOf);
  if (!r)
    throw notFound(
      q.asOf === undefined
        ? `no estimate of ${scope.accountId} yet: run \`orgtally run estimates --account ${scope.accountId}\``
        : `no estimate of ${scope.accountId} at ${isoHour(Math.floor(Date.parse(q.asOf) / HOUR_MS) * HOUR_MS)}`,
    );
  return {
    run: r.run,
    totals: scope.parentLevel ? r.totals : undefined,
    orgs: scope.parentLevel ? r.orgs : r.orgs.filter((o) => scope.orgs.has(o.public_id)),
  };
}

/** How far a closed month's estimates were from its month-end figures (account-wide: the root org's view). */
export async function estimateErrorReport(
  db: Knex,
  scope: Scope,
  q: { month: string },
): Promise<{ version: number; rows: EstimateErrorRow[] }> {
  checkMonth(q.month);
  requireParentLevel(scope, 'estimate errors');
  const e = await estimateErrors(db, scope.accountId, q.month);
  if (e.version === null)
    throw notFound(
      `${scope.accountId} ${q.month} has no month-end version: run \`orgtally run month-end --account ` +
        `${scope.accountId} --month ${q.month}\``,
    );
  if (!e.rows.length) throw notFound(`no estimates of ${scope.accountId} ${q.month} were stored`);
  return { version: e.version, rows: e.rows };
}
