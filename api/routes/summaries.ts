import { z } from 'zod';
import { datadogName } from '../../domain/datadog-names';
import { monthFigures, monthFiguresIfAny, type MonthFigures } from '../../queries/summary';
import type { Scope } from '../../queries/scope';
import type { Knex } from 'knex';
import { exact, integer, jsonInteger, jsonNumber } from '../json';
import { boolParam, ddTime, monthParam } from '../params';
import { PARENT_USAGE_READ, route } from '../route';
import { monthOf, monthRange, orgFields, orgOf } from '../schemas';

/** Datadog's usage summary and billable summary: account-level, from the root org. */

/** The months of a range that have figures; a month not begun or without usage has none and is left out. */
async function figuresOf(db: Knex, scope: Scope, months: string[], asOf: string) {
  const out: { month: string; f: MonthFigures }[] = [];
  for (const month of months) {
    const f = await monthFiguresIfAny(db, scope, { month, asOf });
    if (f) out.push({ month, f });
  }
  return out;
}

const usageSummary = route({
  method: 'GET',
  url: '/api/v1/usage/summary',
  operationId: 'GetUsageSummary',
  summary: 'Usage of every org by month; per product the month’s figure (rounded to an integer)',
  group: 'usage_metering',
  auth: 'key_pair',
  need: PARENT_USAGE_READ,
  query: z.strictObject({
    start_month: monthParam,
    end_month: monthParam.optional(),
    include_org_details: boolParam.optional(),
    include_connected_accounts: boolParam.optional(),
  }),
  response: z.object({
    start_date: z.string(),
    end_date: z.string(),
    last_updated: z.string(),
    usage: z.array(
      z
        .object({
          date: z.string(),
          orgs: z.array(z.object({ id: z.string(), name: z.string(), ...orgFields }).catchall(jsonInteger)),
        })
        .catchall(jsonInteger),
    ),
  }),
  handle: async ({ db, scope, query, now }) => {
    const months = monthRange(query.start_month, query.end_month ?? query.start_month, 'end_month');
    const figures = await figuresOf(db, scope, months, new Date(now).toISOString());
    const withOrgs = query.include_org_details !== false;
    // Per-product fields are the account's own (catchall): TypeScript cannot type them beside `date`.
    return {
      start_date: ddTime(`${months[0]}-01T00:00:00Z`),
      end_date: ddTime(`${months[months.length - 1]}-01T00:00:00Z`),
      last_updated: ddTime(now),
      usage: figures.map(({ month, f }) => {
        const orgs = new Map<string, Record<string, unknown>>();
        if (withOrgs)
          for (const o of f.orgs) {
            const row = orgs.get(o.public_id) ?? {
              id: o.public_id,
              name: o.org_name,
              ...orgOf(scope, o.public_id, o.org_name),
            };
            row[datadogName(o.usage_type)] = integer(o.total_usage);
            orgs.set(o.public_id, row);
          }
        return {
          date: ddTime(`${month}-01T00:00:00Z`),
          ...Object.fromEntries(f.totals.map((t) => [datadogName(t.usage_type), integer(t.total_usage)])),
          orgs: [...orgs.values()],
        };
      }),
    } as never;
  },
});

const BillableDimension = z.object({
  account_billable_usage: jsonInteger,
  account_committed_usage: jsonInteger,
  account_on_demand_usage: jsonInteger,
  elapsed_usage_hours: jsonInteger,
  org_billable_usage: jsonInteger,
  percentage_in_account: jsonNumber,
  usage_unit: z.string(),
});

const billableSummary = route({
  method: 'GET',
  url: '/api/v1/usage/billable-summary',
  operationId: 'GetUsageBillableSummary',
  summary:
    'Billable usage of a month by org: the account’s billable, committed and on-demand figures per product',
  group: 'usage_metering',
  auth: 'key_pair',
  need: PARENT_USAGE_READ,
  query: z.strictObject({ month: monthParam.optional(), include_connected_accounts: boolParam.optional() }),
  response: z.object({
    usage: z.array(
      z.object({
        ...orgFields,
        start_date: z.string(),
        end_date: z.string(),
        num_orgs: jsonInteger,
        ratio_in_month: jsonNumber,
        usage: z.record(z.string(), BillableDimension),
      }),
    ),
  }),
  handle: async ({ db, scope, query, now }) => {
    const month = query.month ?? monthOf(now);
    const f = await monthFigures(db, scope, { month, asOf: new Date(now).toISOString() });
    const totals = new Map(f.totals.map((t) => [t.usage_type, t]));
    const byOrg = new Map<string, typeof f.orgs>();
    for (const o of f.orgs) byOrg.set(o.public_id, [...(byOrg.get(o.public_id) ?? []), o]);
    const ratio = exact(ratioText(f.hours, f.month_hours));
    return {
      usage: [...byOrg].map(([publicId, rows]) => ({
        ...orgOf(scope, publicId, rows[0]?.org_name),
        start_date: ddTime(f.start),
        end_date: ddTime(f.end),
        num_orgs: integer(String(byOrg.size)),
        ratio_in_month: ratio,
        usage: Object.fromEntries(
          rows.map((o) => {
            const t = totals.get(o.usage_type);
            return [
              datadogName(o.usage_type),
              {
                account_billable_usage: integer(t?.billable_usage ?? '0'),
                account_committed_usage: integer(t?.committed_usage ?? '0'),
                account_on_demand_usage: integer(t?.on_demand_usage ?? '0'),
                elapsed_usage_hours: integer(String(f.hours)),
                org_billable_usage: integer(o.billable_usage),
                percentage_in_account: exact(o.percentage_in_account),
                usage_unit: t?.unit ?? '',
              },
            ];
          }),
        ),
      })),
    };
  },
});

/** hours / month hours to 6 places, exactly (no float division). */
function ratioText(hours: number, monthHours: number): string {
  const micro = Math.round((hours * 1_000_000) / monthHours);
  return `${Math.floor(micro / 1_000_000)}.${String(micro % 1_000_000).padStart(6, '0')}`;
}

export const summaryRoutes = [usageSummary, billableSummary];
