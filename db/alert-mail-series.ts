import type { Knex } from 'knex';
import { addDays } from '../domain/alert-days';
import type { MonthPoint } from '../domain/alert-mail-chart';
import { zoned } from '../domain/alert-mail-words';
import { BASELINE_DAYS } from '../domain/alerts';
import { text, dec } from '../domain/exact';
import type { AlertRuleSpec } from '../domain/spec';
import { dayValues, scopeFilter, taggedRollup, zonedStart, type Names } from './alert-inputs';
import { estimatePeriod, orgEstimates } from './estimates';

/**
 * The series an alert mail draws, computed by the code the evaluation ran (db/alert-inputs.ts, orgEstimates),
 * so its last point is the figure the rule judged: a threshold's month to date and projection at the end of
 * each day of the month up to the notice's hour, and a spike's or drop's 15 daily values. Reads rows only (no
 * clock), in the caller's transaction; temp tables are dropped at commit.
 */

/** The rule narrowed to the notice's own scope (a spike rule over every org judged one org × product). */
export function ruleForScope(
  rule: AlertRuleSpec,
  scope: { org?: string; product?: string; tags?: string[] },
): AlertRuleSpec {
  return {
    ...rule,
    scope: {
      ...(scope.org !== undefined ? { org: scope.org } : {}),
      ...(scope.product !== undefined ? { product: scope.product } : {}),
      ...(scope.tags?.length ? { tags: scope.tags } : {}),
    },
  } as AlertRuleSpec;
}

export async function thresholdSeries(
  trx: Knex.Transaction,
  accountId: string,
  asOf: Date,
  rule: AlertRuleSpec,
  n: Names,
): Promise<{ month: string; days: string[]; points: MonthPoint[] }> {
  const p = await estimatePeriod(trx, accountId, asOf.toISOString());
  const { rows: days } = await trx.raw(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day, (d::date + 1)::timestamp AT TIME ZONE :tz AS day_end
       FROM generate_series(CAST(:first AS date), CAST(:first AS date) + interval '1 month' - interval '1 day',
                            interval '1 day') d
      ORDER BY d`,
    { tz: p.timezone, first: p.firstDay },
  );
  const at: { day: string; asOf: Date; through?: string }[] = [];
  for (const d of days as { day: string; day_end: Date }[]) {
    if (d.day_end.getTime() <= p.asOf.getTime()) at.push({ day: d.day, asOf: d.day_end });
    else {
      if (at[at.length - 1]?.asOf.getTime() !== p.asOf.getTime() && d.day === p.asOfDay)
        at.push({ day: d.day, asOf: p.asOf, through: zoned(p.asOf.getTime(), p.timezone).time });
      break;
    }
  }
  const { filter, bindings } = scopeFilter(rule, n);
  const tags = rule.scope.tags ?? [];
  const tables = tags.length
    ? await taggedRollup(trx, 'am', p, rule, n, {
        from: p.monthStart,
        to: p.asOf,
        fromDay: p.firstDay,
        toDay: p.asOfDay,
      })
    : { daily: 'usage_daily', hourly: 'usage_hourly' };
  const account = rule.scope.org === undefined;
  const points: MonthPoint[] = [];
  for (const [i, point] of at.entries()) {
    const pp = await estimatePeriod(trx, accountId, point.asOf.toISOString());
    const table = `am_est_${i}`;
    await orgEstimates(trx, pp, { ...tables, table, filter, bindings });
    // As the evaluation sums it: billable orgs for the account, the org's own usage for an org.
    const { rows } = await trx.raw(
      `SELECT coalesce(sum(e.mtd) FILTER (WHERE ${account ? 'o.billable' : 'true'}), 0)::text AS mtd,
              coalesce(sum(e.projected) FILTER (WHERE ${account ? 'o.billable' : 'true'}), 0)::text AS projected
         FROM ${table} e JOIN orgs o ON o.id = e.org_id`,
    );
    await trx.raw(`DROP TABLE ${table}`);
    points.push({
      day: point.day,
      ...(point.through ? { through: point.through } : {}),
      mtd: text(dec(rows[0].mtd)),
      projected: text(dec(rows[0].projected)),
    });
  }
  return { month: p.month.slice(0, 7), days: days.map((d: { day: string }) => d.day), points };
}

/** The 15 daily values ending on `day` of the notice's org × product (tag-filtered when the rule is). */
export async function changeSeries(
  trx: Knex.Transaction,
  accountId: string,
  asOf: Date,
  day: string,
  rule: AlertRuleSpec,
  n: Names,
): Promise<{ day: string; value: string | null }[]> {
  const p = await estimatePeriod(trx, accountId, asOf.toISOString());
  const fromDay = addDays(day, -BASELINE_DAYS);
  let daily = 'usage_daily';
  if (rule.scope.tags?.length) {
    const from = await zonedStart(trx, fromDay, p.timezone);
    const to = await zonedStart(trx, addDays(day, 1), p.timezone);
    daily = (await taggedRollup(trx, 'am', p, rule, n, { from, to, fromDay, toDay: day })).daily;
  }
  const values = await dayValues(trx, p, daily, { fromDay, toDay: day }, scopeFilter(rule, n));
  const byDay = new Map(values.map((v) => [v.day, v.value]));
  return Array.from({ length: BASELINE_DAYS + 1 }, (_, i) => addDays(fromDay, i)).map((d) => ({
    day: d,
    value: byDay.get(d) ?? null,
  }));
}
