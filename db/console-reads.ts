import type { Knex } from 'knex';

/** Small reads the console's pickers need: which months exist, and where "now" falls in the account's calendar. */
export interface ConsoleMonth {
  month: string;
  /** Its latest month-end version and that version's status; undefined for the month to date. */
  version?: number;
  status?: 'provisional' | 'final';
}

/** The month to date (in the account's zone) first, then every closed month, newest first. */
export async function consoleMonths(db: Knex, accountId: string, asOf: string): Promise<ConsoleMonth[]> {
  const { rows } = await db.raw(
    `SELECT to_char(CAST(:asOf AS timestamptz) AT TIME ZONE a.timezone, 'YYYY-MM') AS current,
            coalesce((SELECT json_agg(json_build_object('month', to_char(v.month, 'YYYY-MM'), 'version', v.version,
                                                        'status', v.status) ORDER BY v.month DESC)
                        FROM (SELECT DISTINCT ON (month) month, version, status FROM month_end_versions
                               WHERE account_id = a.id ORDER BY month, version DESC) v), '[]') AS closed
       FROM accounts a WHERE a.id = :account`,
    { account: accountId, asOf },
  );
  const r = rows[0] as { current: string; closed: ConsoleMonth[] } | undefined;
  if (!r) return [];
  return [{ month: r.current }, ...r.closed.filter((m) => m.month !== r.current)];
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
