import { client, v1, v2 } from '@datadog/datadog-api-client';
import { attributionRows } from '../../db/attribution-report';
import { committedCosts, estimateReport } from '../../db/estimate-reads';
import { byOrg, byTag, findVersion, totals, type VersionRow } from '../../db/month-end-report';
import { datadogName } from '../../domain/datadog-names';
import { add, dec, round, text, ZERO } from '../../domain/exact';
import { monthFigures } from '../../queries/summary';
import { scopeOf } from '../../queries/scope';
import { API_NOW, apiFixture, type ApiFixture } from '../support/api';
import { inCurrency } from '../support/currency';

/**
 * The official Datadog TypeScript client, unmodified, pointed at orgtally: every figure it reads equals the
 * month-end and estimate rows. Integer fields are the exact figure rounded half away from zero; the rest is
 * digit for digit what Postgres holds.
 */
let f: ApiFixture;
let oct: VersionRow;
let u1: v1.UsageMeteringApi;
let u2: v2.UsageMeteringApi;

beforeAll(async () => {
  f = await apiFixture({ pageSize: 7 }); // small pages: the client must walk several
  oct = (await findVersion(f.db, 'acme', '2026-10')) as VersionRow;
  const keys = f.keys['acme/admin'] as { api_key: string; application_key: string };
  const configuration = client.createConfiguration({
    baseServer: new client.BaseServerConfiguration(f.url, {}),
    authMethods: { apiKeyAuth: keys.api_key, appKeyAuth: keys.application_key },
  });
  u1 = new v1.UsageMeteringApi(configuration);
  u2 = new v2.UsageMeteringApi(configuration);
}, 120_000);
afterAll(async () => f?.close());

const int = (d: string) => Number(text(round(dec(d), 0)));
const sorted = (tags: Record<string, string[] | null>) =>
  JSON.stringify(
    Object.fromEntries(
      Object.entries(tags)
        .filter(([, v]) => v !== null)
        .sort(),
    ),
  );

it('billable summary: every org × product equals the month-end rows', async () => {
  const res = await u1.getUsageBillableSummary({ month: new Date('2026-10-01T00:00:00Z') });
  const orgs = await byOrg(f.db, oct);
  const t = new Map((await totals(f.db, oct)).map((r) => [r.usage_type, r]));
  expect(res.usage?.map((r) => r.publicId).sort()).toEqual([...new Set(orgs.map((o) => o.public_id))].sort());
  let checked = 0;
  for (const o of orgs) {
    const row = res.usage?.find((r) => r.publicId === o.public_id);
    const dim = row?.usage?.additionalProperties?.[datadogName(o.usage_type)] as Record<string, unknown>;
    const tot = t.get(o.usage_type);
    expect(dim).toEqual({
      account_billable_usage: int(tot?.billable_usage ?? ''),
      account_committed_usage: int(tot?.committed_usage ?? ''),
      account_on_demand_usage: int(tot?.on_demand_usage ?? ''),
      elapsed_usage_hours: 744,
      org_billable_usage: int(o.billable_usage),
      percentage_in_account: Number(o.percentage_in_account),
      usage_unit: tot?.unit,
    });
    checked += 1;
  }
  expect(checked).toBeGreaterThan(15);
  expect(res.usage?.[0]?.ratioInMonth).toBe(1);
});

it('monthly attribution, paged to the end: each row is a month-end tag row, none lost or repeated', async () => {
  const rows: v1.MonthlyUsageAttributionBody[] = [];
  let next: string | undefined;
  let pages = 0;
  do {
    const res = await u1.getMonthlyUsageAttribution({
      startMonth: new Date('2026-10-01T00:00:00Z'),
      endMonth: new Date('2026-10-01T00:00:00Z'),
      fields: '*',
      nextRecordId: next,
    });
    rows.push(...(res.usage ?? []));
    next = res.metadata?.pagination?.nextRecordId ?? undefined;
    pages += 1;
  } while (next);
  const tagRows = await byTag(f.db, oct);
  const want = new Map<string, Map<string, string>>();
  for (const r of tagRows) {
    const key = `${r.public_id} ${sorted(r.tags)}`;
    const m = want.get(key) ?? new Map<string, string>();
    m.set(r.usage_type, r.total_usage);
    want.set(key, m);
  }
  expect(pages).toBeGreaterThan(2);
  const keys = rows.map((r) => `${r.publicId} ${sorted(r.tags ?? {})}`);
  expect(new Set(keys).size).toBe(keys.length);
  expect([...keys].sort()).toEqual([...want.keys()].sort());
  for (const r of rows) {
    const w = want.get(`${r.publicId} ${sorted(r.tags ?? {})}`) as Map<string, string>;
    // Typed fields where the product has Datadog's name, additionalProperties for the account's own products.
    expect(r.values?.infraHostUsage).toBe(Number(w.get('infra_hosts') ?? 0));
    expect(r.values?.ingestedSpansBytesUsage).toBe(Number(w.get('apm_ingested_bytes') ?? 0));
    expect(r.values?.additionalProperties?.logs_indexed_events_usage).toBe(
      Number(w.get('logs_indexed_events') ?? 0),
    );
  }
});

it('hourly attribution: the attributed hours of a day, exactly', async () => {
  const usage: v1.HourlyUsageAttributionBody[] = [];
  let next: string | undefined;
  do {
    const res = await u1.getHourlyUsageAttribution({
      startHr: new Date('2026-10-03T00:00:00Z'),
      endHr: new Date('2026-10-04T00:00:00Z'),
      usageType: 'infra_host_usage',
      nextRecordId: next,
    });
    usage.push(...(res.usage ?? []));
    next = res.metadata?.pagination?.nextRecordId ?? undefined;
  } while (next);
  const day = await attributionRows(f.db, { accountId: 'acme', day: '2026-10-03', product: 'infra_hosts' });
  const want = (day?.rows ?? []).map(
    (r) => `${r.hour.slice(0, 13)} ${r.public_id} ${sorted(r.tags)} ${Number(r.total_usage)}`,
  );
  const got = usage.map(
    (r) => `${r.hour?.toISOString().slice(0, 13)} ${r.publicId} ${sorted(r.tags ?? {})} ${r.totalUsageSum}`,
  );
  expect(got.length).toBeGreaterThan(10);
  expect(got.sort()).toEqual(want.sort());
});

it('historical cost by org: each org’s charges are its month-end costs', async () => {
  const res = await u2.getHistoricalCostByOrg({
    startMonth: new Date('2026-10-01T00:00:00Z'),
    endMonth: new Date('2026-10-01T00:00:00Z'),
    view: 'sub-org',
  });
  const orgs = await byOrg(f.db, oct);
  const items = res.data ?? [];
  expect(items.map((i) => i.attributes?.publicId).sort()).toEqual(
    [...new Set(orgs.map((o) => o.public_id))].sort(),
  );
  for (const i of items) {
    const mine = orgs.filter((o) => o.public_id === i.attributes?.publicId);
    expect(i.attributes?.totalCost).toBe(
      Number(text(mine.reduce((s, o) => add(s, dec(o.total_cost)), ZERO))),
    );
    for (const o of mine)
      expect(
        i.attributes?.charges
          ?.filter((c) => c.productName === datadogName(o.usage_type))
          .map((c) => [c.chargeType, c.cost]),
      ).toEqual([
        ['committed', Number(o.committed_cost)],
        ['on_demand', Number(o.on_demand_cost)],
        ['total', Number(o.total_cost)],
      ]);
  }
  // orgtally's own attribute, which the client keeps among the additional properties: the account's currency.
  expect(items.map((i) => i.attributes?.additionalProperties?.currency)).toEqual(items.map(() => 'USD'));
});

it('every cost item carries the account’s currency: EUR once the spec says EUR, on each route', async () => {
  const got = await inCurrency(f.db, 'EUR', async () => {
    const month = {
      startMonth: new Date('2026-10-01T00:00:00Z'),
      endMonth: new Date('2026-10-01T00:00:00Z'),
    };
    const lists = [
      (await u2.getHistoricalCostByOrg({ ...month, view: 'sub-org' })).data ?? [],
      (await u2.getEstimatedCostByOrg({ view: 'summary' })).data ?? [],
      (await u2.getProjectedCost({})).data ?? [],
      (await u2.getMonthlyCostAttribution({ ...month, fields: '*' })).data ?? [],
    ];
    return lists.map((l) => [
      l.length > 0,
      new Set(l.map((i) => i.attributes?.additionalProperties?.currency)),
    ]);
  });
  expect(got).toEqual(got.map(() => [true, new Set(['EUR'])]));
});

it('estimated cost: the month so far, as the close computes it over the hours elapsed', async () => {
  const res = await u2.getEstimatedCostByOrg({ view: 'summary' });
  const scope = await scopeOf(f.db, 'acme');
  const mtd = await monthFigures(f.db, scope, { month: '2026-11', asOf: new Date(API_NOW).toISOString() });
  const item = res.data?.[0];
  expect(res.data).toHaveLength(1);
  expect(item?.attributes?.date?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
  expect(item?.attributes?.totalCost).toBe(
    Number(text(mtd.totals.reduce((s, t) => add(s, dec(t.total_cost)), ZERO))),
  );
  const totalsCharges = item?.attributes?.charges
    ?.filter((c) => c.chargeType === 'total')
    .map((c) => [c.productName, c.cost]);
  expect(totalsCharges).toEqual(mtd.totals.map((t) => [datadogName(t.usage_type), Number(t.total_cost)]));
});

it('projected cost: commitments plus the latest estimate’s projected on-demand cost', async () => {
  const res = await u2.getProjectedCost({});
  const e = await estimateReport(f.db, 'acme');
  const committed = await committedCosts(f.db, 'acme');
  const want = (e?.totals ?? []).map((t) => {
    const c = committed.get(t.usage_type) ?? '0';
    return [datadogName(t.usage_type), Number(text(add(dec(c), dec(t.projected_on_demand_cost))))];
  });
  const got = res.data?.[0]?.attributes?.charges
    ?.filter((c) => c.chargeType === 'total')
    .map((c) => [c.productName, c.cost]);
  expect(got).toEqual(want);
  expect(res.data?.[0]?.attributes?.projectedTotalCost).toBe(
    Number(text(want.reduce((s, [, v]) => add(s, dec(String(v))), ZERO))),
  );
});

it('monthly cost attribution (chargeback by tag): Σ rows of an org = the org’s month-end cost', async () => {
  const rows: v2.MonthlyCostAttributionBody[] = [];
  let next: string | undefined;
  do {
    const res = await u2.getMonthlyCostAttribution({
      startMonth: new Date('2026-10-01T00:00:00Z'),
      endMonth: new Date('2026-10-01T00:00:00Z'),
      fields: '*',
      nextRecordId: next,
    });
    rows.push(...(res.data ?? []));
    next = res.meta?.pagination?.nextRecordId ?? undefined;
  } while (next);
  const orgs = await byOrg(f.db, oct);
  for (const id of new Set(orgs.map((o) => o.public_id))) {
    const want = orgs.filter((o) => o.public_id === id).reduce((s, o) => add(s, dec(o.total_cost)), ZERO);
    const got = rows
      .filter((r) => r.attributes?.publicId === id)
      .flatMap((r) => Object.entries((r.attributes?.values ?? {}) as Record<string, number>))
      .filter(([k]) => k.endsWith('_total_cost'))
      .reduce((s, [, v]) => add(s, dec(String(v))), ZERO);
    expect(text(got)).toBe(text(want));
  }
});

it('a wrong key is a 403 the client reports as such', async () => {
  const configuration = client.createConfiguration({
    baseServer: new client.BaseServerConfiguration(f.url, {}),
    authMethods: { apiKeyAuth: 'otk_wrong', appKeyAuth: 'ota_wrong' },
  });
  await expect(new v1.UsageMeteringApi(configuration).getUsageBillableSummary({})).rejects.toMatchObject({
    code: 403,
    body: { errors: [expect.stringMatching(/not valid/)] },
  });
});
