import type { Knex } from 'knex';
import { alertHistory, listAlertStates, type AlertEventRow, type AlertStateRow } from '../db/alert-reads';
import type { Scope } from './scope';

/**
 * Alert states and notices of the orgs in scope. A scope key names its org (`org=client-a;…`, domain/alerts.ts
 * alertScopeKey); one without an org is about the whole account, which only the root org sees.
 */
function visibleKey(scope: Scope, scopeKey: string): boolean {
  if (scope.parentLevel) return true;
  const org = /(?:^|;)org=([^;]*)/.exec(scopeKey)?.[1];
  return org !== undefined && scope.orgs.has(org);
}

export async function alertStates(db: Knex, scope: Scope, q: { all?: boolean }): Promise<AlertStateRow[]> {
  return (await listAlertStates(db, scope.accountId, q)).filter((s) => visibleKey(scope, s.scope_key));
}

export async function alertNotices(db: Knex, scope: Scope, q: { limit: number }): Promise<AlertEventRow[]> {
  const rows = await alertHistory(db, scope.accountId, { limit: scope.parentLevel ? q.limit : 10_000 });
  return rows.filter((e) => visibleKey(scope, e.scope_key)).slice(0, q.limit);
}
