import { z } from 'zod';
import type { Knex } from 'knex';
import { tagsObject, type Cell } from '../../domain/attribution';
import { datadogName, productOfName } from '../../domain/datadog-names';
import { attributedHours, hourKeyOf, type HourRow } from '../../db/attribution-hours';
import { tagMonthRows, tagMonthTotals, tagMonthVersions, type TagMonthRow } from '../../db/tag-months';
import { orgFilter, type Scope } from '../../queries/scope';
import { exact, jsonNumber, JsonNumber } from '../json';
import { boolParam, ddTime, hourParam, listParam, monthParam } from '../params';
import { route, USAGE_READ, type Ctx } from '../route';
import { invalid, monthOf, monthRange, offsetOf, REGION } from '../schemas';

/** Datadog's usage attribution by tag: monthly (closed months) and hourly (attributed days). */

/** Datadog's `tags`: every key with a value, `[""]` for a key present without one; untagged keys are left out. */
export function ddTags(keys: readonly string[], cells: readonly Cell[]): Record<string, string[]> | null {
  if (!keys.length) return null;
  const o = tagsObject(keys, cells);
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, string[]] => e[1] !== null));
}

/** The orgs a listing reads: the caller's subtree, or its own org alone without descendants. */
export function orgsOf(scope: Scope, includeDescendants: boolean | undefined): string[] | undefined {
  return includeDescendants === false ? [scope.org] : orgFilter(scope);
}

export async function productCodes(db: Knex, accountId: string): Promise<string[]> {
  return (await db('products').where({ account_id: accountId }).orderBy('code').pluck('code')) as string[];
}

/** `tag_breakdown_keys`: keys the months were attributed by. */
export function breakdownKeys(given: string[] | undefined, known: readonly string[]): string[] | undefined {
  if (given === undefined || !given.length) return undefined;
  const bad = given.filter((k) => !known.includes(k));
  if (bad.length)
    throw invalid(
      `tag_breakdown_keys: ${bad.join(', ')} ${bad.length > 1 ? 'are not tag keys' : 'is not a tag key'} of these months (${known.join(', ') || 'none'})`,
    );
  return given;
}

const tagRow = {
  org_name: z.string(),
  public_id: z.string(),
  region: z.string(),
  tag_config_source: z.string(),
  tags: z.record(z.string(), z.array(z.string())).nullable(),
  updated_at: z.string(),
};
const pagination = z.object({ next_record_id: z.string().nullable() });

export interface MonthlyInput {
  start_month: string;
  end_month?: string;
  tag_breakdown_keys?: string[];
  sort_direction?: 'asc' | 'desc';
  sort_name?: string;
  include_descendants?: boolean;
  next_record_id?: string;
}

/** The selection, the page and the cursor of a monthly listing (usage or cost): one reading of the parameters. */
export async function monthlyPage(
  ctx: Ctx<MonthlyInput, unknown, unknown>,
  opts: { cursorParam: string; sortMeasure: 'usage' | 'cost'; sortSuffixes: string[] },
) {
  const { db, scope, query: q } = ctx;
  const end = q.end_month ?? monthOf(ctx.now);
  monthRange(q.start_month, end, 'end_month');
  const codes = await productCodes(db, scope.accountId);
  const { versions, tagKeys } = await tagMonthVersions(db, {
    accountId: scope.accountId,
    fromMonth: q.start_month,
    toMonth: end,
  });
  let sortProduct: string | undefined;
  if (q.sort_name !== undefined && q.sort_name !== 'public_id') {
    const suffix = opts.sortSuffixes.find((s) => q.sort_name?.endsWith(s));
    sortProduct = suffix ? productOfName(q.sort_name.slice(0, -suffix.length), codes) : undefined;
    if (!sortProduct)
      throw invalid(
        `sort_name: "${q.sort_name}" is neither public_id nor a field (<product>${opts.sortSuffixes.join('|')})`,
      );
  }
  const { next_record_id: token, ...filters } = q;
  // The versions read are part of what a cursor is bound to: a month restated between two pages starts over.
  const binding = { ...filters, end_month: end, versions };
  const offset =
    token === undefined ? 0 : offsetOf(ctx.pager.read(token, binding, opts.cursorParam), opts.cursorParam);
  const sel = {
    accountId: scope.accountId,
    fromMonth: q.start_month,
    toMonth: end,
    orgs: orgsOf(scope, q.include_descendants),
    breakdownKeys: breakdownKeys(q.tag_breakdown_keys, tagKeys),
    sortProduct,
    sortMeasure: opts.sortMeasure,
    descending: (q.sort_direction ?? 'desc') === 'desc',
  };
  const rows = await tagMonthRows(db, { ...sel, offset, limit: ctx.pageSize + 1 });
  const more = rows.length > ctx.pageSize;
  return {
    codes,
    rows: rows.slice(0, ctx.pageSize),
    totals: () => tagMonthTotals(db, sel),
    next: more ? ctx.pager.issue(binding, offset + ctx.pageSize) : null,
  };
}

/** `fields`: `*` or a list of `<product>_usage` / `<product>_percentage` (Datadog names or product codes). */
export function wantedFields(
  fields: string[],
  codes: readonly string[],
  suffixes: readonly string[],
): { code: string; suffix: string; field: string }[] {
  if (fields.includes('*'))
    return codes.flatMap((code) =>
      suffixes.map((suffix) => ({ code, suffix, field: datadogName(code) + suffix })),
    );
  return fields.map((f) => {
    const suffix = suffixes.find((s) => f.endsWith(s));
    const code = suffix ? productOfName(f.slice(0, -suffix.length), codes) : undefined;
    if (!suffix || !code)
      throw invalid(
        `fields: "${f}" is not a field of this account (* or <product>${suffixes.join(' | <product>')}; products: ${codes.map(datadogName).join(', ')})`,
      );
    return { code, suffix, field: f };
  });
}

export const valuesOf = (
  row: TagMonthRow,
  wanted: ReturnType<typeof wantedFields>,
  pick: (f: TagMonthRow['values'][string] | undefined, suffix: string) => string,
): Record<string, JsonNumber> =>
  // The SQL already sends canonical decimal text (trim_scale): written as it is, without a decimal round trip.
  Object.fromEntries(wanted.map((w) => [w.field, new JsonNumber(pick(row.values[w.code], w.suffix))]));

/** Monthly usage and cost attribution take the same parameters. */
export const monthlyQuery = z.strictObject({
  start_month: monthParam,
  end_month: monthParam.optional(),
  fields: listParam,
  sort_direction: z.enum(['asc', 'desc']).optional(),
  sort_name: z.string().optional(),
  tag_breakdown_keys: listParam.optional(),
  next_record_id: z.string().optional(),
  include_descendants: boolParam.optional(),
});

const monthlyAttribution = route({
  method: 'GET',
  url: '/api/v1/usage/monthly-attribution',
  operationId: 'GetMonthlyUsageAttribution',
  summary: 'Closed months by org and tag combination: usage and share of the org per product',
  group: 'usage_metering',
  auth: 'key_pair',
  need: USAGE_READ,
  query: monthlyQuery,
  response: z.object({
    usage: z.array(z.object({ month: z.string(), ...tagRow, values: z.record(z.string(), jsonNumber) })),
    metadata: z.object({
      aggregates: z.array(z.object({ agg_type: z.string(), field: z.string(), value: jsonNumber })),
      pagination,
    }),
  }),
  handle: async (ctx) => {
    const page = await monthlyPage(ctx, {
      cursorParam: 'next_record_id',
      sortMeasure: 'usage',
      sortSuffixes: ['_usage', '_percentage'],
    });
    const wanted = wantedFields(ctx.query.fields, page.codes, ['_usage', '_percentage']);
    const totals = new Map((await page.totals()).map((t) => [t.usage_type, t]));
    return {
      usage: page.rows.map((r) => ({
        month: ddTime(`${r.month}-01T00:00:00Z`),
        org_name: r.org_name,
        public_id: r.public_id,
        region: REGION,
        tag_config_source: 'orgtally',
        tags: ddTags(r.tag_keys, r.cells),
        updated_at: ddTime(r.updated_at),
        values: valuesOf(r, wanted, (f, s) =>
          f === undefined ? '0' : s === '_usage' ? f.usage : f.percentage,
        ),
      })),
      metadata: {
        aggregates: wanted
          .filter((w) => w.suffix === '_usage')
          .map((w) => ({ agg_type: 'sum', field: w.field, value: exact(totals.get(w.code)?.usage ?? '0') })),
        pagination: { next_record_id: page.next },
      },
    };
  },
});

const MAX_HOURS = 31 * 24;

const hourlyAttribution = route({
  method: 'GET',
  url: '/api/v1/usage/hourly-attribution',
  operationId: 'GetHourlyUsageAttribution',
  summary: 'Attributed hours of one product by org and tag combination',
  group: 'usage_metering',
  auth: 'key_pair',
  need: USAGE_READ,
  query: z.strictObject({
    start_hr: hourParam,
    end_hr: hourParam.optional(),
    usage_type: z.string(),
    next_record_id: z.string().optional(),
    tag_breakdown_keys: listParam.optional(),
    include_descendants: boolParam.optional(),
  }),
  response: z.object({
    usage: z.array(
      z.object({ hour: z.string(), ...tagRow, total_usage_sum: jsonNumber, usage_type: z.string() }),
    ),
    metadata: z.object({ pagination }),
  }),
  handle: async (ctx) => {
    const { db, scope, query: q } = ctx;
    const end = q.end_hr ?? q.start_hr + 24 * 3_600_000;
    if (end <= q.start_hr) throw invalid('end_hr: must be after start_hr');
    if (end - q.start_hr > MAX_HOURS * 3_600_000)
      throw invalid(`end_hr: at most ${MAX_HOURS} hours at a time`);
    const codes = await productCodes(db, scope.accountId);
    const name = q.usage_type.endsWith('_usage') ? q.usage_type.slice(0, -'_usage'.length) : q.usage_type;
    const product = productOfName(name, codes);
    if (!product)
      throw invalid(
        `usage_type: "${q.usage_type}" is not a product of this account (${codes.map((c) => `${datadogName(c)}_usage`).join(', ')})`,
      );
    const tagKeys = (await db('attribution_runs')
      .where({ account_id: scope.accountId })
      .select(db.raw('DISTINCT unnest(tag_keys) AS k'))
      .then((rs: { k: string }[]) => rs.map((r) => r.k))) as string[];
    const { next_record_id: token, ...filters } = q;
    const binding = { ...filters, end_hr: end };
    const after =
      token === undefined ? undefined : hourKeyOf(ctx.pager.read(token, binding, 'next_record_id'));
    if (token !== undefined && !after)
      throw invalid('next_record_id: is not a cursor this server issued; start again without next_record_id');
    const rows = await attributedHours(db, {
      accountId: scope.accountId,
      product,
      fromMs: q.start_hr,
      toMs: end,
      orgs: orgsOf(scope, q.include_descendants),
      breakdownKeys: breakdownKeys(q.tag_breakdown_keys, tagKeys),
      ...(after ? { after } : {}),
      limit: ctx.pageSize + 1,
    });
    return {
      usage: rows.slice(0, ctx.pageSize).map((r) => ({
        hour: r.hour,
        org_name: r.org_name,
        public_id: r.public_id,
        region: REGION,
        tag_config_source: 'orgtally',
        tags: ddTags(r.tag_keys, r.cells),
        total_usage_sum: exact(r.total_usage),
        updated_at: ddTime(r.updated_at),
        usage_type: `${datadogName(product)}_usage`,
      })),
      metadata: {
        pagination: {
          next_record_id:
            rows.length > ctx.pageSize ? ctx.pager.issue(binding, keyOf(rows[ctx.pageSize - 1]!)) : null,
        },
      },
    };
  },
});

const keyOf = (r: HourRow) => ({ hour: r.hour, public_id: r.public_id, cells: r.cells });

export const attributionRoutes = [monthlyAttribution, hourlyAttribution];
