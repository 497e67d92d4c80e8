import type { Knex } from 'knex';

/** Small reads the console's pickers need: which months exist, and where "now" falls in the account's calendar. */
export interface ConsoleMonth {
  month: string;
  /** Its latest month-end version and that version's status; undefined for the month to date. */
  version?: number;
  status?: 'provisional' | 'final';
  /** The month to date only: whether any usage of it has arrived yet. */
  hasUsage?: boolean;
}

/** The month to date (in the account's zone) first, then every closed month, newest first. */
export async function consoleMonths(db: Knex, accountId: string, asOf: string): Promise<ConsoleMonth[]> {
  const { rows } = await db.raw(
    `SELECT to_char(CAST(:asOf AS timestamptz) AT TIME ZONE a.timezone, 'YYYY-MM') AS current,
            EXISTS (SELECT 1 FROM usage_facts f JOIN orgs o ON o.id = f.org_id
                     WHERE o.account_id = a.id
                       AND f.hour >= date_trunc('month', CAST(:asOf AS timestamptz) AT TIME ZONE a.timezone)
                                     AT TIME ZONE a.timezone) AS has_usage,
            coalesce((SELECT json_agg(json_build_object('month', to_char(v.month, 'YYYY-MM'), 'version', v.version,
                                                        'status', v.status) ORDER BY v.month DESC)
                        FROM (SELECT DISTINCT ON (month) month, version, status FROM month_end_versions
                               WHERE account_id = a.id ORDER BY month, version DESC) v), '[]') AS closed
       FROM accounts a WHERE a.id = :account`,
    { account: accountId, asOf },
  );
  const r = rows[0] as { current: string; has_usage: boolean; closed: ConsoleMonth[] } | undefined;
  if (!r) return [];
  return [{ month: r.current, hasUsage: r.has_usage }, ...r.closed.filter((m) => m.month !== r.current)];
}

/**
 * The month a page opens on: the month to date once its first usage has arrived, else the latest closed month
 * (on the 1st, a page of zeros for a month that has just begun says nothing).
 */
export function defaultMonth(months: readonly ConsoleMonth[]): string | undefined {
  const [current, latest] = months;
  if (current && (current.hasUsage !== false || !latest)) return current.month;
  return latest?.month;
}

/** The latest month at or before `month` whose six-month trends are stored (trends are computed at each close). */
export async function latestTrendMonth(
  db: Knex,
  accountId: string,
  month: string,
): Promise<string | undefined> {
  const r = await db('trend_runs')
    .where({ account_id: accountId })
    .where('month', '<=', `${month}-01`)
    .max({ m: 'month' })
    .first();
  return r?.m ? new Date(r.m).toISOString().slice(0, 7) : undefined;
}
