import { z } from 'zod';
import { monthEndFileJobs, monthStatus, openMonthEndFile } from '../../db/month-end-report';
import { closedVersion, monthEndReport } from '../../queries/month-end';
import { notFound } from '../../queries/scope';
import { intParam } from '../params';
import { COST_READ, route } from '../route';

import { BASE, checkedMonth, decimal, iso, monthPath } from './orgtally-common';

/** orgtally's month-end endpoints: a month's versions, its figures and its files (the account's: root org). */
const versionItem = z.object({
  version: z.number().int(),
  status: z.string(),
  computed_at: z.string(),
  as_of: z.string(),
  data_complete_through: z.string(),
  facts_watermark: z.string().nullable(),
  checksum: z.string(),
  hours: z.number().int(),
  tag_keys: z.array(z.string()),
  changes: z.array(z.record(z.string(), z.unknown())),
});
// A product without a price (both prices 0: no commitment) costs "not priced", which a 0 would hide.
const pricedField = z.boolean().describe('false: the product has no price in this version; its costs are 0');
const totalItem = z.object({
  usage_type: z.string(),
  unit: z.string(),
  aggregation: z.string(),
  total_usage: decimal,
  billable_usage: decimal,
  committed_usage: decimal,
  allotment_usage: decimal,
  included_usage: decimal,
  on_demand_usage: decimal,
  committed_price: decimal,
  on_demand_price: decimal,
  committed_cost: decimal,
  on_demand_cost: decimal,
  total_cost: decimal,
  priced: pricedField,
});
const orgRowItem = z.object({
  public_id: z.string(),
  org_name: z.string(),
  billable: z.boolean(),
  usage_type: z.string(),
  total_usage: decimal,
  billable_usage: decimal,
  committed_usage: decimal,
  on_demand_usage: decimal,
  percentage_in_account: decimal,
  committed_cost: decimal,
  on_demand_cost: decimal,
  total_cost: decimal,
  priced: pricedField,
});
const tagRowItem = orgRowItem.omit({ billable: true }).extend({
  tags: z.record(z.string(), z.array(z.string()).nullable()),
  percentage_in_org: decimal,
});

export const monthEndRoutes = [
  route({
    method: 'GET',
    url: `${BASE}/month-end/:month`,
    operationId: 'GetMonthEnd',
    summary: 'Where a month stands: ended or not, its versions with watermark, checksum and changes',
    group: 'orgtally',
    auth: 'key_pair',
    need: COST_READ,
    params: monthPath,
    query: z.strictObject({}),
    response: z.object({
      month: z.string(),
      start: z.string(),
      end: z.string(),
      ended: z.boolean(),
      versions: z.array(versionItem),
    }),
    handle: async ({ db, scope, params, now }) => {
      const month = checkedMonth(params.month);
      const st = await monthStatus(db, scope.accountId, month, new Date(now).toISOString());
      const rows = await db('month_end_versions')
        .where({ account_id: scope.accountId, month: `${month}-01` })
        .orderBy('version')
        .select(
          'version',
          'status',
          'computed_at',
          'as_of',
          'data_complete_through',
          db.raw('facts_watermark::text AS facts_watermark'),
          'checksum',
          'hours',
          'tag_keys',
          'changes',
        );
      return {
        month,
        start: st.start,
        end: st.end,
        ended: st.ended,
        versions: rows.map((r) => ({
          ...r,
          computed_at: iso(r.computed_at),
          as_of: iso(r.as_of),
          data_complete_through: iso(r.data_complete_through),
        })),
      };
    },
  }),
  route({
    method: 'GET',
    url: `${BASE}/month-end/:month/report`,
    operationId: 'GetMonthEndReport',
    summary: 'A closed month’s figures: account totals, by org, by tag (exact decimals)',
    group: 'orgtally',
    auth: 'key_pair',
    need: COST_READ,
    params: monthPath,
    query: z.strictObject({
      version: intParam(1, 1_000_000).optional(),
      parts: z.enum(['totals', 'by_org', 'by_tag']).optional(),
    }),
    response: z.object({
      version: versionItem,
      currency: z.string().describe('ISO 4217 code of every amount (the account’s)'),
      totals: z.array(totalItem).nullable(),
      by_org: z.array(orgRowItem),
      by_tag: z.array(tagRowItem),
    }),
    handle: async ({ db, scope, params, query, now }) => {
      const r = await monthEndReport(db, scope, {
        month: checkedMonth(params.month),
        version: query.version,
        asOf: new Date(now).toISOString(),
        parts: query.parts ? [query.parts] : undefined,
      });
      // Change rows are plain JSON objects (db/month-end.ts Change); the schema reads them as such.
      return {
        ...r,
        version: { ...r.version, changes: r.version.changes as unknown as Record<string, unknown>[] },
        totals: r.totals ?? null,
      };
    },
  }),
  route({
    method: 'GET',
    url: `${BASE}/month-end/:month/files`,
    operationId: 'ListMonthEndFiles',
    summary: 'The files of a closed month’s version (by org, by tag, a summary per tag key)',
    group: 'orgtally',
    auth: 'key_pair',
    need: COST_READ,
    params: monthPath,
    query: z.strictObject({ version: intParam(1, 1_000_000).optional() }),
    response: z.object({
      version: z.number().int(),
      files: z.array(z.object({ name: z.string(), url: z.string() })),
    }),
    handle: async ({ db, scope, params, query, now }) => {
      const v = await closedVersion(db, scope, {
        month: checkedMonth(params.month),
        version: query.version,
        asOf: new Date(now).toISOString(),
      });
      const names = (await monthEndFileJobs(db, v)).map((j) => j.name);
      return {
        version: v.version,
        files: names.map((name) => ({
          name,
          url: `${BASE}/month-end/${v.month}/files/${name}?version=${v.version}`,
        })),
      };
    },
  }),
  route({
    method: 'GET',
    url: `${BASE}/month-end/:month/files/:name`,
    operationId: 'GetMonthEndFile',
    summary: 'One file of a closed month’s version, streamed from Postgres',
    group: 'orgtally',
    auth: 'key_pair',
    need: COST_READ,
    params: z.strictObject({ month: z.string(), name: z.string() }),
    query: z.strictObject({ version: intParam(1, 1_000_000).optional() }),
    response: z.unknown(),
    download: true,
    handle: async ({ db, scope, params, query, now }) => {
      const v = await closedVersion(db, scope, {
        month: checkedMonth(params.month),
        version: query.version,
        asOf: new Date(now).toISOString(),
      });
      const stream = await openMonthEndFile(db, v, params.name);
      if (!stream) {
        const names = (await monthEndFileJobs(db, v)).map((j) => j.name);
        throw notFound(
          `${v.month} version ${v.version} has no file "${params.name}" (files: ${names.join(', ')})`,
        );
      }
      const tsv = params.name.endsWith('.tsv');
      return {
        filename: params.name,
        contentType: tsv ? 'text/tab-separated-values; charset=utf-8' : 'text/csv; charset=utf-8',
        stream,
      };
    },
  }),
];
