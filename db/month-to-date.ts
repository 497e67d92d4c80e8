import type { Knex } from 'knex';
import { p99Rank } from '../domain/billing';
import type { OrgRow, TotalRow } from '../domain/month-end-report';
import { computeOrgFigures } from './month-figures';
import { checkMonth } from '../domain/month-end';
import { monthPeriod, monthStart } from './month-period';

export interface MonthToDate {
  hours: number;
  periodStart: string;
  periodEnd: string;
  /** Hours before this may still receive late data (as of minus the lateness window). */
  dataCompleteThrough: string;
  /** The month's own hours (the rules' denominators for avg use the elapsed ones). */
  monthHours: number;
  totals: TotalRow[];
  orgs: OrgRow[];
}

/**
 * The month so far, computed like the close but over the hours elapsed at `asOf` (avg and p99 over those hours)
 * from the days attributed so far; nothing is stored. Costs include the whole month's commitment.
 */
export async function monthToDate(
  db: Knex,
  input: { accountId: string; month: string; asOf: string },
): Promise<MonthToDate> {
  checkMonth(input.month);
  return db.transaction(
    async (trx) => {
      await trx.raw('SET LOCAL jit = off');
      const period = await monthPeriod(trx, input.accountId, input.month, new Date(input.asOf));
      const hours = Math.max(
        1,
        Math.round((period.elapsedEnd.getTime() - period.start.getTime()) / 3_600_000),
      );
      await computeOrgFigures(trx, {
        account: input.accountId,
        first: monthStart(input.month),
        hours,
        k: p99Rank(hours, period.p99DropPercent),
        until: period.elapsedEnd,
        monthHours: period.hours,
      });
      const { rows: totals } = await trx.raw(
        `SELECT usage_type, unit, aggregation, trim_scale(total_usage)::text AS total_usage,
                trim_scale(billable_usage)::text AS billable_usage,
                trim_scale(committed_usage)::text AS committed_usage,
                trim_scale(allotment_usage)::text AS allotment_usage,
                trim_scale(included_usage)::text AS included_usage,
                trim_scale(on_demand_usage)::text AS on_demand_usage, committed_cost::text, on_demand_cost::text,
                (committed_cost + on_demand_cost)::text AS total_cost
           FROM me_totals ORDER BY usage_type COLLATE "C"`,
      );
      const { rows: orgs } = await trx.raw(
        `SELECT public_id, org_name, billable, usage_type, trim_scale(total_usage)::text AS total_usage,
                trim_scale(billable_usage)::text AS billable_usage,
                trim_scale(committed_usage)::text AS committed_usage,
                trim_scale(on_demand_usage)::text AS on_demand_usage,
                trim_scale(percentage_in_account)::text AS percentage_in_account, committed_cost::text,
                on_demand_cost::text, (committed_cost + on_demand_cost)::text AS total_cost
           FROM me_orgs ORDER BY public_id COLLATE "C", usage_type COLLATE "C"`,
      );
      return {
        hours,
        monthHours: period.hours,
        periodStart: period.start.toISOString(),
        periodEnd: period.elapsedEnd.toISOString(),
        dataCompleteThrough: period.completeThrough.toISOString(),
        totals,
        orgs,
      };
    },
    { isolationLevel: 'repeatable read' },
  );
}
