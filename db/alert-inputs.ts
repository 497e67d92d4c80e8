import type { Knex } from 'knex';
import { addDays } from '../domain/alert-days';
import { STALL_ACTIVE_DAYS, type AlertEvaluationBase } from '../domain/alerts';
import { AVG_SCALE } from '../domain/billing';
import { ErrorType, OrgtallyError } from '../domain/errors';
import type { AlertRuleSpec } from '../domain/spec';
import { normalizeTag } from '../domain/tags';
import { dailySql } from './usage-rollup';
import { type EstimatePeriod } from './estimates';

/**
 * What alert rules judge, read for one evaluation: names of the account's orgs and products, and per rule the
 * usage of its scope (daily values, the last data, tag-filtered rollups from usage_facts).
 */

export interface Evaluated {
  rule: AlertRuleSpec;
  scopeKey: string;
  scope: { org?: string; product?: string; tags?: string[] };
  evaluation: AlertEvaluationBase & Record<string, unknown>;
}

export interface Names {
  orgs: Map<number, { publicId: string; name: string; billable: boolean }>;
  products: Map<number, { code: string; unit: string }>;
  orgIds: Map<string, number>;
  productIds: Map<string, number>;
}

export async function names(trx: Knex.Transaction, accountId: string): Promise<Names> {
  const orgs = await trx('orgs')
    .where({ account_id: accountId })
    .select('id', 'public_id', 'name', 'billable');
  const products = await trx('products').where({ account_id: accountId }).select('id', 'code', 'unit');
  return {
    orgs: new Map(orgs.map((o) => [o.id, { publicId: o.public_id, name: o.name, billable: o.billable }])),
    products: new Map(products.map((p) => [p.id, { code: p.code, unit: p.unit }])),
    orgIds: new Map(orgs.map((o) => [o.public_id, o.id])),
    productIds: new Map(products.map((p) => [p.code, p.id])),
  };
}

export function ruleTags(rule: AlertRuleSpec): string[] {
  return (rule.scope.tags ?? []).map((t) => {
    const n = normalizeTag(t);
    if (!n.ok)
      throw new OrgtallyError(ErrorType.InvalidInput, `alert rule ${rule.id}: tag "${t}": ${n.detail}`);
    return n.tag;
  });
}

/** SQL filter on alias x for the rule's org and product, with its bindings. */
export function scopeFilter(
  rule: AlertRuleSpec,
  n: Names,
): { filter: string; bindings: Record<string, unknown> } {
  const parts: string[] = [];
  const bindings: Record<string, unknown> = {};
  if (rule.scope.org !== undefined) {
    parts.push('x.org_id = :scopeOrg');
    bindings.scopeOrg = n.orgIds.get(rule.scope.org) ?? -1;
  }
  if (rule.scope.product !== undefined) {
    parts.push('x.product_id = :scopeProduct');
    bindings.scopeProduct = n.productIds.get(rule.scope.product) ?? -1;
  }
  return { filter: parts.length ? parts.join(' AND ') : 'true', bindings };
}

/**
 * Tag-filtered copies of the rollups for one rule over [from, to): temp tables `<name>_hourly` and
 * `<name>_daily` with the columns of usage_hourly and usage_daily.
 */
export async function taggedRollup(
  trx: Knex.Transaction,
  name: string,
  p: EstimatePeriod,
  rule: AlertRuleSpec,
  n: Names,
  range: { from: Date; to: Date; fromDay: string; toDay: string },
): Promise<{ hourly: string; daily: string }> {
  const { filter, bindings } = scopeFilter(rule, n);
  const hourly = `${name}_hourly`;
  const daily = `${name}_daily`;
  await trx.raw(
    `CREATE TEMP TABLE ${hourly} ON COMMIT DROP AS
     SELECT o.account_id, x.hour, x.org_id, x.product_id, sum(x.value) AS total
       FROM usage_facts x JOIN orgs o ON o.id = x.org_id JOIN tag_sets t ON t.id = x.tag_set_id
      WHERE o.account_id = :account AND x.hour >= :from AND x.hour < :to AND t.tags @> CAST(:tags AS text[])
        AND ${filter}
      GROUP BY o.account_id, x.hour, x.org_id, x.product_id`,
    { account: p.accountId, from: range.from, to: range.to, tags: ruleTags(rule), ...bindings },
  );
  await trx.raw(
    `CREATE TEMP TABLE ${name}_days ON COMMIT DROP AS
     SELECT CAST(:account AS text) AS account_id, d::date AS day,
            floor(CAST(:p AS numeric) * 745 / 100)::int + 1 AS keep,
            d::date::timestamp AT TIME ZONE :tz AS day_start, (d::date + 1)::timestamp AT TIME ZONE :tz AS day_end
       FROM generate_series(CAST(:fromDay AS date), CAST(:toDay AS date), interval '1 day') d`,
    { account: p.accountId, tz: p.timezone, p: p.p99DropPercent, fromDay: range.fromDay, toDay: range.toDay },
  );
  await trx.raw(`CREATE TEMP TABLE ${daily} ON COMMIT DROP AS ${dailySql(hourly, `${name}_days`)}`);
  return { hourly, daily };
}

/** The value of the product's rule over one day's hours (a DST day has 23 or 25), per org × product × day. */
export async function dayValues(
  trx: Knex.Transaction,
  p: EstimatePeriod,
  daily: string,
  range: { fromDay: string; toDay: string },
  scope: { filter: string; bindings: Record<string, unknown> },
): Promise<{ org_id: number; product_id: number; day: string; value: string }[]> {
  const { rows } = await trx.raw(
    `SELECT x.org_id, x.product_id, to_char(x.day, 'YYYY-MM-DD') AS day,
            trim_scale(CASE pr.aggregation
              WHEN 'sum' THEN x.total
              WHEN 'avg' THEN div(2 * x.total * power(10::numeric, ${AVG_SCALE}) + h.dh, 2 * h.dh)
                              / power(10::numeric, ${AVG_SCALE})
              WHEN 'max' THEN x.peak
              WHEN 'last' THEN x.last_value
              WHEN 'p99' THEN coalesce(x.top[floor(CAST(:p AS numeric) * h.dh / 100)::int + 1], 0)
            END)::text AS value
       FROM ${daily} x
       JOIN products pr ON pr.id = x.product_id
       CROSS JOIN LATERAL (SELECT (extract(epoch FROM ((x.day + 1)::timestamp AT TIME ZONE :tz)
                                   - (x.day::timestamp AT TIME ZONE :tz)) / 3600)::int AS dh) h
      WHERE x.account_id = :account AND x.day >= CAST(:fromDay AS date) AND x.day <= CAST(:toDay AS date)
        AND ${scope.filter}`,
    {
      account: p.accountId,
      tz: p.timezone,
      p: p.p99DropPercent,
      fromDay: range.fromDay,
      toDay: range.toDay,
      ...scope.bindings,
    },
  );
  return rows;
}

/** Per org × product: the start of the last hour with data before asOf, within the last 8 days. */
export async function lastData(
  trx: Knex.Transaction,
  p: EstimatePeriod,
): Promise<{ org_id: number; product_id: number; last: Date }[]> {
  const { rows } = await trx.raw(
    `SELECT org_id, product_id, max(last_hour) AS last FROM (
       SELECT org_id, product_id, last_hour FROM usage_daily
        WHERE account_id = :account AND day >= CAST(:fromDay AS date) AND day < CAST(:asOfDay AS date)
       UNION ALL
       SELECT org_id, product_id, max(hour) FROM usage_hourly
        WHERE account_id = :account AND hour >= CAST(:dayStart AS timestamptz) AND hour < CAST(:asOf AS timestamptz)
        GROUP BY org_id, product_id) x
     GROUP BY org_id, product_id`,
    {
      account: p.accountId,
      fromDay: addDays(p.asOfDay, -(STALL_ACTIVE_DAYS + 1)),
      asOfDay: p.asOfDay,
      dayStart: p.asOfDayStart,
      asOf: p.asOf,
    },
  );
  return rows;
}

export async function zonedStart(trx: Knex.Transaction, day: string, tz: string): Promise<Date> {
  const { rows } = await trx.raw(`SELECT (CAST(? AS date))::timestamp AT TIME ZONE ? AS t`, [day, tz]);
  return rows[0].t;
}
