import type { Knex } from 'knex';
import { checkMonth } from '../domain/month-end';
import { ErrorType, OrgtallyError } from '../domain/errors';

/** A month of an account as instants and days: what the close and month-to-date run over (computed once, here). */

export interface MonthDays {
  days: string[];
  /** Days never attributed, or marked pending by late or replaced data. */
  toAttribute: string[];
}

export const monthStart = (month: string) => `${month}-01`;

/** The month's calendar days and those that still need (re-)attribution before the month can close. */
export async function monthDays(db: Knex, accountId: string, month: string): Promise<MonthDays> {
  checkMonth(month);
  const { rows } = await db.raw(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day,
            (r.day IS NULL OR p.day IS NOT NULL) AS to_attribute
       FROM generate_series(CAST(:start AS date), CAST(:start AS date) + interval '1 month' - interval '1 day',
                            interval '1 day') AS d
       LEFT JOIN attribution_runs r ON r.account_id = :account AND r.day = d::date
       LEFT JOIN attribution_pending p ON p.account_id = :account AND p.day = d::date
      ORDER BY d`,
    { account: accountId, start: monthStart(month) },
  );
  const list = rows as { day: string; to_attribute: boolean }[];
  return { days: list.map((r) => r.day), toAttribute: list.filter((r) => r.to_attribute).map((r) => r.day) };
}

export interface MonthPeriod {
  /** [start, end) of the month in the account's zone; hours = its real length (743/745 in DST months). */
  start: Date;
  end: Date;
  hours: number;
  /** min(end, as-of to the hour): where month-to-date stops. */
  elapsedEnd: Date;
  /** Data before this is past the lateness window. */
  completeThrough: Date;
  /** Every day of the month is past the lateness window. */
  final: boolean;
  p99DropPercent: string;
}

/** The account's month as instants, for the close and for month-to-date (one place computes them). */
export async function monthPeriod(
  trx: Knex.Transaction,
  accountId: string,
  month: string,
  asOf: Date,
): Promise<MonthPeriod> {
  const account = await trx('accounts')
    .where({ id: accountId })
    .first('timezone', 'lateness_hours', 'p99_drop_percent');
  if (!account) throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${accountId}"`);
  const { rows } = await trx.raw(
    `SELECT s AS start, e AS end, (extract(epoch FROM e - s) / 3600)::int AS hours,
            least(e, greatest(s, date_trunc('hour', CAST(:asOf AS timestamptz)))) AS elapsed_end,
            least(e, greatest(s, date_trunc('hour', CAST(:asOf AS timestamptz) - make_interval(hours => :lateness))))
              AS complete_through,
            CAST(:asOf AS timestamptz) >= e + make_interval(hours => :lateness) AS final
       FROM (SELECT (CAST(:start AS date))::timestamp AT TIME ZONE :tz AS s,
                    (CAST(:start AS date) + interval '1 month')::timestamp AT TIME ZONE :tz AS e) b`,
    {
      start: monthStart(month),
      tz: account.timezone,
      asOf: asOf.toISOString(),
      lateness: account.lateness_hours,
    },
  );
  const r = rows[0] as {
    start: Date;
    end: Date;
    hours: number;
    elapsed_end: Date;
    complete_through: Date;
    final: boolean;
  };
  return {
    start: r.start,
    end: r.end,
    hours: r.hours,
    elapsedEnd: r.elapsed_end,
    completeThrough: r.complete_through,
    final: r.final,
    p99DropPercent: account.p99_drop_percent,
  };
}
