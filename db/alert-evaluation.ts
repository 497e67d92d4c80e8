import type { Knex } from 'knex';
import { addDays, lastCompleteDay } from '../domain/alert-days';
import { alertScopeKey } from '../domain/alert-state';
import {
  BASELINE_DAYS,
  evaluateChange,
  evaluateStall,
  evaluateThreshold,
  STALL_ACTIVE_DAYS,
} from '../domain/alerts';
import { ErrorType, OrgtallyError } from '../domain/errors';
import type { AlertRuleSpec } from '../domain/spec';
import { DAY_MS } from '../domain/time';
import { orgEstimates, type EstimatePeriod } from './estimates';
import {
  dayValues,
  lastData,
  ruleTags,
  scopeFilter,
  taggedRollup,
  zonedStart,
  type Evaluated,
  type Names,
} from './alert-inputs';

/** Each rule evaluated over its scopes (domain/alerts.ts does the rule math): what every (rule, scope) shows now. */

export async function evaluateRules(
  trx: Knex.Transaction,
  p: EstimatePeriod,
  rules: AlertRuleSpec[],
  n: Names,
): Promise<Evaluated[]> {
  const asOfMs = p.asOf.getTime();
  const out: Evaluated[] = [];
  const month = p.month.slice(0, 7);
  let untaggedEstimates = false;
  let stallData: Awaited<ReturnType<typeof lastData>> | undefined;
  const stallInputs = async () => (stallData ??= await lastData(trx, p));
  const sevenDaysAgo = asOfMs - STALL_ACTIVE_DAYS * DAY_MS;

  for (const [i, rule] of rules.entries()) {
    const tags = ruleTags(rule);
    const scope = scopeFilter(rule, n);
    const orgName = (id: number) => n.orgs.get(id)?.publicId ?? String(id);
    const product = (id: number) => n.products.get(id) ?? { code: String(id), unit: '' };

    if (rule.kind === 'threshold') {
      const code = rule.scope.product as string;
      const unit = n.products.get(n.productIds.get(code) ?? -1)?.unit ?? '';
      const measure = rule.measure ?? 'mtd';
      let table = 'est_org';
      if (tags.length) {
        const t = await taggedRollup(trx, `al_${i}`, p, rule, n, {
          from: p.monthStart,
          to: p.asOf,
          fromDay: p.firstDay,
          toDay: p.asOfDay,
        });
        table = `al_${i}_est`;
        await orgEstimates(trx, p, { daily: t.daily, hourly: t.hourly, table });
      } else if (!untaggedEstimates) {
        await orgEstimates(trx, p);
        untaggedEstimates = true;
      }
      const col = measure === 'mtd' ? 'mtd' : 'projected';
      const account = rule.scope.org === undefined;
      const { rows } = await trx.raw(
        `SELECT coalesce(sum(e.${col}) FILTER (WHERE ${account ? 'o.billable' : 'true'}), 0)::text AS value
           FROM ${table} e JOIN orgs o ON o.id = e.org_id
          WHERE e.product_id = :product ${account ? '' : 'AND e.org_id = :org'}`,
        { product: n.productIds.get(code) ?? -1, org: n.orgIds.get(rule.scope.org ?? '') ?? -1 },
      );
      let included: string | null = null;
      if (rule.percent_of_included !== undefined) {
        const t = await trx('estimate_totals')
          .where({ account_id: p.accountId, as_of: p.asOf, usage_type: code })
          .first(trx.raw('included_usage::text AS included'));
        if (!t)
          throw new OrgtallyError(
            ErrorType.InvalidInput,
            `no estimate of ${p.accountId} at ${p.asOf.toISOString()}: compute estimates before alerts`,
          );
        included = t.included;
      }
      const who = account ? 'the account' : rule.scope.org;
      const tagText = tags.length ? ` tagged ${tags.join(', ')}` : '';
      const evaluation = evaluateThreshold(
        {
          measure,
          ...(rule.above !== undefined ? { above: rule.above } : {}),
          ...(rule.percent_of_included !== undefined
            ? { percent_of_included: rule.percent_of_included }
            : {}),
        },
        {
          subject: `${code}${tagText} for ${who}`,
          unit,
          month,
          asOfMs,
          value: rows[0].value,
          included,
        },
      );
      const sc = { ...(rule.scope.org ? { org: rule.scope.org } : {}), product: code, tags };
      out.push({ rule, scope: sc, scopeKey: alertScopeKey(sc), evaluation: { ...evaluation } });
      continue;
    }

    if (rule.kind === 'spike' || rule.kind === 'drop') {
      const day = lastCompleteDay(asOfMs, p.latenessHours, p.timezone);
      const fromDay = addDays(day, -BASELINE_DAYS);
      let daily = 'usage_daily';
      if (tags.length) {
        const from = await zonedStart(trx, fromDay, p.timezone);
        const to = await zonedStart(trx, addDays(day, 1), p.timezone);
        daily = (await taggedRollup(trx, `al_${i}`, p, rule, n, { from, to, fromDay, toDay: day })).daily;
      }
      const values = await dayValues(trx, p, daily, { fromDay, toDay: day }, scope);
      const stall = new Map<string, number>(
        (await stallInputs()).map((s) => [`${s.org_id}/${s.product_id}`, s.last.getTime()]),
      );
      const series = new Map<string, { org: number; product: number; byDay: Map<string, string> }>();
      for (const v of values) {
        const key = `${v.org_id}/${v.product_id}`;
        let s = series.get(key);
        if (!s) series.set(key, (s = { org: v.org_id, product: v.product_id, byDay: new Map() }));
        s.byDay.set(v.day, v.value);
      }
      const days = Array.from({ length: BASELINE_DAYS + 1 }, (_, d) => addDays(fromDay, d));
      for (const [key, s] of series) {
        const pr = product(s.product);
        const last = stall.get(key) ?? null;
        const tagText = tags.length ? ` tagged ${tags.join(', ')}` : '';
        const evaluation = evaluateChange(
          { kind: rule.kind, change_percent: rule.change_percent, min_units: rule.min_units },
          {
            subject: `${pr.code}${tagText} for ${orgName(s.org)}`,
            unit: pr.unit,
            day,
            values: days.map((d) => s.byDay.get(d) ?? null),
            asOf: asOfMs,
            latenessHours: p.latenessHours,
            timeZone: p.timezone,
            stall: { lastDataMs: last, hadUsageInLast7Days: last !== null && last >= sevenDaysAgo },
          },
        );
        const sc = { org: orgName(s.org), product: pr.code, tags };
        out.push({ rule, scope: sc, scopeKey: alertScopeKey(sc), evaluation: { ...evaluation } });
      }
      continue;
    }

    // stall: per org, or per org × product when the rule names one
    const perProduct = rule.scope.product !== undefined;
    const groups = new Map<string, { org: number; product?: number; last: number }>();
    for (const s of await stallInputs()) {
      if (rule.scope.org !== undefined && s.org_id !== n.orgIds.get(rule.scope.org)) continue;
      if (perProduct && s.product_id !== n.productIds.get(rule.scope.product as string)) continue;
      const key = perProduct ? `${s.org_id}/${s.product_id}` : String(s.org_id);
      const g = groups.get(key);
      const last = s.last.getTime();
      if (!g) groups.set(key, { org: s.org_id, ...(perProduct ? { product: s.product_id } : {}), last });
      else g.last = Math.max(g.last, last);
    }
    for (const g of groups.values()) {
      const code = g.product === undefined ? undefined : product(g.product).code;
      const evaluation = evaluateStall({
        subject: code ? `${code} for ${orgName(g.org)}` : orgName(g.org),
        lastDataMs: g.last,
        asOfMs,
        latenessHours: p.latenessHours,
        hadUsageInLast7Days: g.last >= sevenDaysAgo,
      });
      const sc = { org: orgName(g.org), ...(code ? { product: code } : {}) };
      out.push({ rule, scope: sc, scopeKey: alertScopeKey(sc), evaluation: { ...evaluation } });
    }
  }
  return out;
}
