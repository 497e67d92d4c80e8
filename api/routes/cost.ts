import { z } from 'zod';
import { datadogName } from '../../domain/datadog-names';
import { add, dec, text, ZERO } from '../../domain/exact';
import { committedCosts } from '../../db/estimate-reads';
import { byOrg, findVersion, totals } from '../../db/month-end-report';
import { latestEstimate } from '../../queries/estimates';
import { monthFiguresIfAny } from '../../queries/summary';
import type { Scope } from '../../queries/scope';
import { exact, jsonNumber } from '../json';
import { boolParam, dayParam, ddTime, monthParam } from '../params';
import { COST_READ, route } from '../route';
import { invalid, monthOf, monthRange, orgFields, orgOf } from '../schemas';
import { ddTags, monthlyPage, monthlyQuery, valuesOf, wantedFields } from './attribution';

/** Datadog's cost endpoints: account-level, need usage_read AND billing_read. */

interface CostRow {
  usage_type: string;
  committed_cost: string;
  on_demand_cost: string;
  total_cost: string;
}

/** orgtally's: Datadog bills in USD and has no such attribute; its clients keep it in additionalProperties. */
const currencyField = z
  .string()
  .describe('orgtally: ISO 4217 code of every amount of the item (the account’s)');
const charge = z.object({ product_name: z.string(), charge_type: z.string(), cost: jsonNumber });
const costItem = (totalField: 'total_cost' | 'projected_total_cost') =>
  z.object({
    id: z.string(),
    type: z.literal('cost_by_org'),
    attributes: z.object({
      ...orgFields,
      date: z.string(),
      [totalField]: jsonNumber,
      charges: z.array(charge),
      currency: currencyField,
    }),
  });

/** One Datadog cost item: an org (or the account, in the summary view) in a month, with its charges. */
function costItemOf(
  scope: Scope,
  month: string,
  org: { public_id: string; name?: string },
  rows: readonly CostRow[],
  totalField: 'total_cost' | 'projected_total_cost' = 'total_cost',
) {
  const total = rows.reduce((s, r) => add(s, dec(r.total_cost)), ZERO);
  return {
    id: `${org.public_id}/${month}`,
    type: 'cost_by_org' as const,
    attributes: {
      ...orgOf(scope, org.public_id, org.name),
      date: ddTime(`${month}-01T00:00:00Z`),
      [totalField]: exact(text(total)),
      charges: rows.flatMap((r) => [
        { product_name: datadogName(r.usage_type), charge_type: 'committed', cost: exact(r.committed_cost) },
        { product_name: datadogName(r.usage_type), charge_type: 'on_demand', cost: exact(r.on_demand_cost) },
        { product_name: datadogName(r.usage_type), charge_type: 'total', cost: exact(r.total_cost) },
      ]),
      currency: scope.currency,
    },
  };
}

function itemsOf(
  scope: Scope,
  month: string,
  view: 'summary' | 'sub-org',
  t: CostRow[],
  orgs: (CostRow & { public_id: string; org_name: string })[],
) {
  if (view === 'summary')
    return [costItemOf(scope, month, { public_id: scope.accountId, name: scope.accountName }, t)];
  const byOrgId = new Map<string, typeof orgs>();
  for (const o of orgs) byOrgId.set(o.public_id, [...(byOrgId.get(o.public_id) ?? []), o]);
  return [...byOrgId].map(([id, rows]) =>
    costItemOf(scope, month, { public_id: id, name: rows[0]?.org_name }, rows),
  );
}

const view = z.enum(['summary', 'sub-org'], { error: 'must be summary or sub-org' });

const historical = route({
  method: 'GET',
  url: '/api/v2/usage/historical_cost',
  operationId: 'GetHistoricalCostByOrg',
  summary: 'Cost of closed months, for the account (summary) or by org (sub-org): the month-end figures',
  group: 'usage_metering',
  auth: 'key_pair',
  need: COST_READ,
  query: z.strictObject({
    start_month: monthParam,
    end_month: monthParam.optional(),
    view: view.optional(),
    include_connected_accounts: boolParam.optional(),
  }),
  response: z.object({ data: z.array(costItem('total_cost')) }),
  handle: async ({ db, scope, query: q, now }) => {
    const months = monthRange(q.start_month, q.end_month ?? monthOf(now), 'end_month');
    const data = [];
    for (const month of months) {
      const v = await findVersion(db, scope.accountId, month);
      if (!v) continue; // historical: closed months only
      data.push(...itemsOf(scope, month, q.view ?? 'summary', await totals(db, v), await byOrg(db, v)));
    }
    return { data };
  },
});

const estimated = route({
  method: 'GET',
  url: '/api/v2/usage/estimated_cost',
  operationId: 'GetEstimatedCostByOrg',
  summary: 'Cost so far: a closed month’s figures, or the month-to-date close over the hours elapsed',
  group: 'usage_metering',
  auth: 'key_pair',
  need: COST_READ,
  query: z.strictObject({
    view: view.optional(),
    start_month: monthParam.optional(),
    end_month: monthParam.optional(),
    start_date: dayParam.optional(),
    end_date: dayParam.optional(),
    // orgtally's estimate is the month so far, i.e. cumulative; the other aggregation is not offered.
    cost_aggregation: z.enum(['cumulative'], { error: 'must be cumulative (the month so far)' }).optional(),
    include_connected_accounts: boolParam.optional(),
  }),
  response: z.object({ data: z.array(costItem('total_cost')) }),
  handle: async ({ db, scope, query: q, now }) => {
    if (q.start_month !== undefined && q.start_date !== undefined)
      throw invalid('start_date: give start_month or start_date, not both');
    const start = q.start_month ?? q.start_date?.slice(0, 7) ?? monthOf(now);
    const end =
      q.end_month ?? q.end_date?.slice(0, 7) ?? ((q.start_month ?? q.start_date) ? start : monthOf(now));
    const data = [];
    for (const month of monthRange(start, end, q.end_month !== undefined ? 'end_month' : 'end_date')) {
      const f = await monthFiguresIfAny(db, scope, { month, asOf: new Date(now).toISOString() });
      if (f) data.push(...itemsOf(scope, month, q.view ?? 'summary', f.totals, f.orgs));
    }
    return { data };
  },
});

const projected = route({
  method: 'GET',
  url: '/api/v2/usage/projected_cost',
  operationId: 'GetProjectedCost',
  summary: 'Projected cost of the current month, from the latest estimate: commitments + projected on-demand',
  group: 'usage_metering',
  auth: 'key_pair',
  need: COST_READ,
  query: z.strictObject({ view: view.optional(), include_connected_accounts: boolParam.optional() }),
  response: z.object({ data: z.array(costItem('projected_total_cost')) }),
  handle: async ({ db, scope, query: q }) => {
    if (q.view === 'sub-org')
      throw invalid(
        'view: projected cost is the account’s (summary); by org it is in historical or estimated cost',
      );
    const e = await latestEstimate(db, scope, {});
    const committed = await committedCosts(db, scope.accountId);
    const rows = (e.totals ?? []).map((t) => {
      const c = committed.get(t.usage_type) ?? '0';
      return {
        usage_type: t.usage_type,
        committed_cost: c,
        on_demand_cost: t.projected_on_demand_cost,
        total_cost: text(add(dec(c), dec(t.projected_on_demand_cost))),
      };
    });
    const item = costItemOf(
      scope,
      e.run.month,
      { public_id: scope.accountId, name: scope.accountName },
      rows,
      'projected_total_cost',
    );
    return { data: [item] };
  },
});

const COST_SUFFIXES = ['_on_demand_cost', '_committed_cost', '_total_cost'];

const monthlyCostAttribution = route({
  method: 'GET',
  url: '/api/v2/cost_by_tag/monthly_cost_attribution',
  operationId: 'GetMonthlyCostAttribution',
  summary: 'Chargeback by tag: closed months’ cost by org and tag combination per product',
  group: 'usage_metering',
  auth: 'key_pair',
  need: COST_READ,
  query: monthlyQuery,
  response: z.object({
    data: z.array(
      z.object({
        id: z.string(),
        type: z.literal('cost_by_tag'),
        attributes: z.object({
          month: z.string(),
          org_name: z.string(),
          public_id: z.string(),
          tag_config_source: z.string(),
          tags: z.record(z.string(), z.array(z.string())).nullable(),
          total_cost: jsonNumber,
          updated_at: z.string(),
          values: z.record(z.string(), jsonNumber),
          currency: currencyField,
        }),
      }),
    ),
    meta: z.object({
      aggregates: z.array(z.object({ agg_type: z.string(), field: z.string(), value: jsonNumber })),
      pagination: z.object({ next_record_id: z.string().nullable() }),
    }),
  }),
  handle: async (ctx) => {
    const page = await monthlyPage(ctx, {
      cursorParam: 'next_record_id',
      sortMeasure: 'cost',
      sortSuffixes: COST_SUFFIXES,
    });
    const wanted = wantedFields(ctx.query.fields, page.codes, COST_SUFFIXES);
    const totalsByCode = new Map((await page.totals()).map((t) => [t.usage_type, t]));
    const pick = (
      f: { committed_cost: string; on_demand_cost: string; total_cost: string } | undefined,
      s: string,
    ) =>
      f === undefined
        ? '0'
        : s === '_committed_cost'
          ? f.committed_cost
          : s === '_on_demand_cost'
            ? f.on_demand_cost
            : f.total_cost;
    return {
      data: page.rows.map((r) => ({
        id: `${r.public_id}/${r.month}/${r.cells.join('|')}`,
        type: 'cost_by_tag' as const,
        attributes: {
          month: ddTime(`${r.month}-01T00:00:00Z`),
          org_name: r.org_name,
          public_id: r.public_id,
          tag_config_source: 'orgtally',
          tags: ddTags(r.tag_keys, r.cells),
          total_cost: exact(text(Object.values(r.values).reduce((s, v) => add(s, dec(v.total_cost)), ZERO))),
          updated_at: ddTime(r.updated_at),
          values: valuesOf(r, wanted, pick),
          currency: ctx.scope.currency,
        },
      })),
      meta: {
        aggregates: wanted
          .filter((w) => w.suffix === '_total_cost')
          .map((w) => ({
            agg_type: 'sum',
            field: w.field,
            value: exact(totalsByCode.get(w.code)?.total_cost ?? '0'),
          })),
        pagination: { next_record_id: page.next },
      },
    };
  },
});

export const costRoutes = [estimated, historical, projected, monthlyCostAttribution];
