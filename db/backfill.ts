import type { Knex } from 'knex';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { accountClock } from './accounts';
import { attributeDay } from './attribution';
import { closeMonth } from './month-end';
import { monthDays } from './month-period';
import { computeTrends } from './trends';

/**
 * A backfill's dry run: what it would recompute and what would change, computed for real inside one transaction
 * that is rolled back — the days with late or missing data are attributed, each month is closed and its trends
 * computed exactly as the backfill would, then nothing is kept. Exact, and as costly as the work it previews.
 */

export type PreviewStep = 'attribution' | 'month-end' | 'trends';

export interface DayPreview {
  day: string;
  state: 'never attributed' | 'late data pending' | 'attributed';
  /** Only days never attributed or with pending late data can change. */
  wouldChange: boolean;
}

export interface MonthPreview {
  month: string;
  current: { version: number; status: string; computedAt: string } | null;
  /** What the close would do: a new version (restated: mailed again), the same figures, … */
  outcome: 'created' | 'unchanged' | 'finalized' | 'not closed' | 'incomplete';
  newVersion: number | null;
  /** Finance recipients who would get a mail (a new version only). */
  mailTo: string[];
  /** The largest differences a restatement would carry (account figures first). */
  changes: { field: string; usage_type: string; public_id?: string; from: string; to: string }[];
  trends: 'unchanged' | 'recomputed' | 'not run';
}

export interface BackfillPreview {
  accountId: string;
  from: string;
  to: string;
  steps: PreviewStep[];
  days: DayPreview[];
  months: MonthPreview[];
  /** Months of the range that have not ended: not closed. */
  monthsNotEnded: string[];
  /** Extra days outside the range the month-end would attribute first (late data in those months). */
  outsideDays: string[];
}

/**
 * The steps' working tables are dropped at commit; inside this one long transaction they must go after each step,
 * or the next step finds them.
 */
async function dropTempTables(trx: Knex.Transaction): Promise<void> {
  const { rows } = await trx.raw(
    `SELECT c.relname FROM pg_class c WHERE c.relnamespace = pg_my_temp_schema() AND c.relkind = 'r'`,
  );
  for (const r of rows as { relname: string }[]) await trx.raw('DROP TABLE pg_temp.??', [r.relname]);
}

class Rollback extends Error {
  constructor(readonly preview: BackfillPreview) {
    super('dry run');
  }
}

export async function previewBackfill(
  db: Knex,
  input: { accountId: string; from: string; to: string; steps: PreviewStep[]; asOf: string },
): Promise<BackfillPreview> {
  const account = await db('accounts').where({ id: input.accountId }).first('id');
  if (!account) throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${input.accountId}"`);
  const steps = new Set(input.steps);
  try {
    await db.transaction(async (trx) => {
      const { rows } = await trx.raw(
        `SELECT to_char(d, 'YYYY-MM-DD') AS day,
                CASE WHEN r.day IS NULL THEN 'never attributed'
                     WHEN p.day IS NOT NULL THEN 'late data pending' ELSE 'attributed' END AS state
           FROM generate_series(CAST(:from AS date), CAST(:to AS date), interval '1 day') d
           LEFT JOIN attribution_runs r ON r.account_id = :account AND r.day = d::date
           LEFT JOIN attribution_pending p ON p.account_id = :account AND p.day = d::date
          ORDER BY d`,
        { from: input.from, to: input.to, account: input.accountId },
      );
      const days: DayPreview[] = (rows as { day: string; state: DayPreview['state'] }[]).map((r) => ({
        ...r,
        wouldChange: r.state !== 'attributed',
      }));
      // as the backfill: a month that has not ended is not closed (its days are attributed)
      const { previousMonth } = await accountClock(trx, input.accountId, input.asOf);
      const touched = [...new Set(days.map((d) => d.day.slice(0, 7)))];
      const months = touched.filter((m) => m <= previousMonth);
      const monthsNotEnded = touched.filter((m) => m > previousMonth);
      const outsideDays: string[] = [];
      for (const d of steps.has('attribution') ? days : []) {
        if (!d.wouldChange) continue;
        await attributeDay(trx, { accountId: input.accountId, day: d.day });
        await dropTempTables(trx);
      }
      const recipients = (
        await trx('finance_recipients').where({ account_id: input.accountId }).orderBy('email')
      ).map((r: { email: string }) => r.email);

      const previews: MonthPreview[] = [];
      for (const month of months) {
        const current = await trx('month_end_versions')
          .where({ account_id: input.accountId, month: `${month}-01` })
          .orderBy('version', 'desc')
          .first('version', 'status', 'computed_at');
        const preview: MonthPreview = {
          month,
          current: current
            ? {
                version: current.version,
                status: current.status,
                computedAt: current.computed_at.toISOString(),
              }
            : null,
          outcome: 'not closed',
          newVersion: null,
          mailTo: [],
          changes: [],
          trends: 'not run',
        };
        if (steps.has('month-end')) {
          // the close attributes the month's missing or pending days first, inside the range or not
          for (const day of (await monthDays(trx, input.accountId, month)).toAttribute) {
            if (day < input.from || day > input.to) outsideDays.push(day);
            await attributeDay(trx, { accountId: input.accountId, day });
            await dropTempTables(trx);
          }
          const r = await closeMonth(trx, { accountId: input.accountId, month, asOf: input.asOf });
          await dropTempTables(trx);
          preview.outcome = r.outcome;
          if (r.outcome === 'created') {
            preview.newVersion = r.version;
            preview.mailTo = recipients;
            const v = await trx('month_end_versions')
              .where({ account_id: input.accountId, month: `${month}-01`, version: r.version })
              .first('changes');
            preview.changes = ((v?.changes ?? []) as MonthPreview['changes']).slice(0, 10);
          }
        }
        if (steps.has('month-end') || steps.has('trends')) {
          const t = await computeTrends(trx, { accountId: input.accountId, month });
          await dropTempTables(trx);
          preview.trends = t.changed ? 'recomputed' : 'unchanged';
        }
        previews.push(preview);
      }
      throw new Rollback({
        accountId: input.accountId,
        from: input.from,
        to: input.to,
        steps: input.steps,
        days,
        months: previews,
        monthsNotEnded,
        outsideDays,
      });
    });
  } catch (err) {
    if (err instanceof Rollback) return err.preview;
    throw err;
  }
  throw new Error('unreachable: the dry run always rolls back');
}
