import { z } from 'zod';
import { datadogName, productOfName } from '../../domain/datadog-names';
import { usageHours } from '../../db/usage-hours';
import { integer, jsonInteger } from '../json';
import { boolParam, hourParam, intParam, listParam } from '../params';
import { route, USAGE_READ } from '../route';
import { invalid, offsetOf, orgFields, orgOf } from '../schemas';
import { orgsOf, productCodes } from './attribution';

const MAX_HOURS = 31 * 24;

/** Datadog's v2 hourly usage: one item per org, product ("product family") and hour. */
export const hourlyUsageRoutes = [
  route({
    method: 'GET',
    url: '/api/v2/usage/hourly_usage',
    operationId: 'GetHourlyUsage',
    summary: 'Hourly usage by org and product family (each orgtally product is its own family)',
    group: 'usage_metering',
    auth: 'key_pair',
    need: USAGE_READ,
    query: z.strictObject({
      'filter[timestamp][start]': hourParam,
      'filter[timestamp][end]': hourParam.optional(),
      'filter[product_families]': listParam,
      'filter[include_descendants]': boolParam.optional(),
      'filter[include_connected_accounts]': boolParam.optional(),
      'filter[include_breakdown]': boolParam.optional(),
      'filter[versions]': z.string().optional(),
      'page[limit]': intParam(1, 500).optional(),
      'page[next_record_id]': z.string().optional(),
    }),
    response: z.object({
      data: z.array(
        z.object({
          id: z.string(),
          type: z.literal('usage_timeseries'),
          attributes: z.object({
            ...orgFields,
            product_family: z.string(),
            timestamp: z.string(),
            measurements: z.array(z.object({ usage_type: z.string(), value: jsonInteger.nullable() })),
          }),
        }),
      ),
      meta: z.object({ pagination: z.object({ next_record_id: z.string().nullable() }) }),
    }),
    handle: async (ctx) => {
      const { db, scope, query: q } = ctx;
      const start = q['filter[timestamp][start]'];
      const end = q['filter[timestamp][end]'] ?? start + 24 * 3_600_000;
      if (end <= start) throw invalid('filter[timestamp][end]: must be after filter[timestamp][start]');
      if (end - start > MAX_HOURS * 3_600_000)
        throw invalid(`filter[timestamp][end]: at most ${MAX_HOURS} hours at a time`);
      const codes = await productCodes(db, scope.accountId);
      const families = q['filter[product_families]'];
      if (!families.length)
        throw invalid('filter[product_families]: name at least one product family, or all');
      const products = families.includes('all')
        ? undefined
        : families.map((f) => {
            const c = productOfName(f, codes);
            if (!c)
              throw invalid(
                `filter[product_families]: "${f}" is not a product of this account (all, ${codes.map(datadogName).join(', ')})`,
              );
            return c;
          });
      const limit = q['page[limit]'] ?? 500;
      const { 'page[next_record_id]': token, ...filters } = q;
      const binding = { ...filters, end };
      const param = 'page[next_record_id]';
      const offset = token === undefined ? 0 : offsetOf(ctx.pager.read(token, binding, param), param);
      const rows = await usageHours(db, {
        accountId: scope.accountId,
        fromMs: start,
        toMs: end,
        products,
        orgs: orgsOf(scope, q['filter[include_descendants]']),
        offset,
        limit: limit + 1,
      });
      return {
        data: rows.slice(0, limit).map((r) => ({
          id: `${r.public_id}/${r.product}/${r.hour}`,
          type: 'usage_timeseries' as const,
          attributes: {
            ...orgOf(scope, r.public_id, r.org_name),
            product_family: datadogName(r.product),
            timestamp: r.hour,
            measurements: [{ usage_type: datadogName(r.product), value: integer(r.total) }],
          },
        })),
        meta: {
          pagination: {
            next_record_id: rows.length > limit ? ctx.pager.issue(binding, offset + limit) : null,
          },
        },
      };
    },
  }),
];
