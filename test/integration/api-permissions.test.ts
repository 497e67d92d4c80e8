import { ROUTES } from '../../api/routes';
import type { Route } from '../../api/route';
import { MANAGED_ROLES, subtree, type Permission } from '../../domain/access';
import { orgTree } from '../../db/accounts';
import { createRole } from '../../db/access';
import { createShare } from '../../db/shares';
import { apiFixture, CALLER_ORGS, CALLER_ROLES, CUSTOM_ROLES, type ApiFixture } from '../support/api';

/**
 * The permission matrix, generated from the route table: every endpoint × every role (managed and custom) ×
 * a caller in the root org, a child, a grandchild and a sibling subtree → exactly the status the access rules
 * say. No endpoint may exist outside the table, and every one needs a sample request here.
 */
let f: ApiFixture;
let tree: { public_id: string; parent: string | null }[];
let serial = 0;

beforeAll(async () => {
  f = await apiFixture();
  tree = await orgTree(f.db, 'acme');
  await f.db.transaction((trx) =>
    createRole(trx, { accountId: 'acme', name: 'matrix-target', permissions: ['usage_read'], actor: 'test' }),
  );
}, 120_000);
afterAll(async () => f?.close());

interface Sample {
  url: string;
  body?: unknown;
  /** The org the request names (a sibling's caller must get 404, never 403). */
  org?: string;
}

const roleId = async (name: string) =>
  (await f.db('roles').where({ account_id: 'acme', name }).first('id')).id as string;
const PERMISSION_IDS: Record<string, string> = {};
/** A fresh share of client-a-eu, addressed by its token: each write sample gets its own, so any caller may repeat it. */
const shareToken = async () =>
  (
    await f.db.transaction((trx) =>
      createShare(trx, {
        accountId: 'acme',
        org: 'client-a-eu',
        title: `matrix-${++serial}`,
        dashboardType: 'custom_timeboard',
        shareType: 'open',
        locks: {},
        showCost: false,
        showCommitment: true,
        expiresAt: '2036-01-01T00:00:00Z',
        invitees: [],
        actor: 'test',
      }),
    )
  ).token;

/** One valid request per endpoint; writes are idempotent, or make their own target, so any caller may repeat them. */
const SAMPLES: Record<string, () => Promise<Sample>> = {
  Validate: async () => ({ url: '/api/v1/validate' }),
  GetUsageSummary: async () => ({ url: '/api/v1/usage/summary?start_month=2026-10-01T00:00:00Z' }),
  GetUsageBillableSummary: async () => ({ url: '/api/v1/usage/billable-summary?month=2026-10' }),
  GetMonthlyUsageAttribution: async () => ({
    url: '/api/v1/usage/monthly-attribution?start_month=2026-10&fields=*',
  }),
  GetHourlyUsageAttribution: async () => ({
    url: '/api/v1/usage/hourly-attribution?start_hr=2026-10-03T00:00:00Z&usage_type=infra_host_usage',
  }),
  GetHourlyUsage: async () => ({
    url: '/api/v2/usage/hourly_usage?filter[timestamp][start]=2026-10-03T00:00:00Z&filter[product_families]=all',
  }),
  GetEstimatedCostByOrg: async () => ({ url: '/api/v2/usage/estimated_cost?start_month=2026-10' }),
  GetHistoricalCostByOrg: async () => ({
    url: '/api/v2/usage/historical_cost?start_month=2026-09&view=sub-org',
  }),
  GetProjectedCost: async () => ({ url: '/api/v2/usage/projected_cost' }),
  GetMonthlyCostAttribution: async () => ({
    url: '/api/v2/cost_by_tag/monthly_cost_attribution?start_month=2026-10&fields=*',
  }),
  ListPermissions: async () => ({ url: '/api/v2/permissions' }),
  ListRoles: async () => ({ url: '/api/v2/roles' }),
  CreateRole: async () => ({
    url: '/api/v2/roles',
    body: { data: { type: 'roles', attributes: { name: `matrix-${++serial}` } } },
  }),
  GetRole: async () => ({ url: `/api/v2/roles/${await roleId('matrix-target')}` }),
  UpdateRole: async () => {
    const id = await roleId('matrix-target');
    return {
      url: `/api/v2/roles/${id}`,
      body: { data: { id, type: 'roles', attributes: { name: 'matrix-target' } } },
    };
  },
  DeleteRole: async () => {
    const name = `doomed-${++serial}`;
    await f.db.transaction((trx) =>
      createRole(trx, { accountId: 'acme', name, permissions: [], actor: 'test' }),
    );
    return { url: `/api/v2/roles/${await roleId(name)}` };
  },
  ListRolePermissions: async () => ({ url: `/api/v2/roles/${await roleId('matrix-target')}/permissions` }),
  AddPermissionToRole: async () => ({
    url: `/api/v2/roles/${await roleId('matrix-target')}/permissions`,
    body: { data: { id: PERMISSION_IDS.usage_read, type: 'permissions' } },
  }),
  RemovePermissionFromRole: async () => ({
    url: `/api/v2/roles/${await roleId('matrix-target')}/permissions`,
    body: { data: { id: PERMISSION_IDS.billing_edit, type: 'permissions' } },
  }),
  ListOrgs: async () => ({ url: '/api/orgtally/v1/orgs' }),
  GetOrg: async () => ({ url: '/api/orgtally/v1/orgs/client-a-eu', org: 'client-a-eu' }),
  GetMonthEnd: async () => ({ url: '/api/orgtally/v1/month-end/2026-10' }),
  GetMonthEndReport: async () => ({ url: '/api/orgtally/v1/month-end/2026-10/report' }),
  ListMonthEndFiles: async () => ({ url: '/api/orgtally/v1/month-end/2026-10/files' }),
  GetMonthEndFile: async () => ({
    url: '/api/orgtally/v1/month-end/2026-10/files/month_end_acme_2026-10_v1_by_org.csv',
  }),
  GetTrends: async () => ({ url: '/api/orgtally/v1/trends/2026-10?org=client-a-eu', org: 'client-a-eu' }),
  GetEstimate: async () => ({ url: '/api/orgtally/v1/estimates?org=client-a-eu', org: 'client-a-eu' }),
  GetEstimateSeries: async () => ({ url: '/api/orgtally/v1/estimates/series?month=2026-11' }),
  GetTagKeys: async () => ({ url: '/api/orgtally/v1/attribution/tag-keys' }),
  SetTagKeys: async () => ({
    url: '/api/orgtally/v1/attribution/tag-keys',
    body: { tag_keys: ['team', 'env', 'service'] },
  }),
  ListAlertRules: async () => ({ url: '/api/orgtally/v1/alert-rules' }),
  SetAlertRules: async () => ({
    url: '/api/orgtally/v1/alert-rules',
    body: {
      alerts: await f.db('alert_rules').where({ account_id: 'acme' }).orderBy('rule_id').pluck('definition'),
    },
  }),
  ListAlerts: async () => ({ url: '/api/orgtally/v1/alerts' }),
  ListDeliveries: async () => ({ url: '/api/orgtally/v1/deliveries' }),
  ListAudit: async () => ({ url: '/api/orgtally/v1/audit' }),
  ListPublicDashboards: async () => ({ url: '/api/v1/dashboard/public' }),
  CreatePublicDashboard: async () => ({
    url: '/api/v1/dashboard/public',
    body: { dashboard_id: 'client-a-eu', dashboard_type: 'custom_timeboard', share_type: 'open' },
    org: 'client-a-eu',
  }),
  GetPublicDashboard: async () => ({
    url: `/api/v1/dashboard/public/${await shareToken()}`,
    org: 'client-a-eu',
  }),
  UpdatePublicDashboard: async () => ({
    url: `/api/v1/dashboard/public/${await shareToken()}`,
    body: { title: 'renamed' },
    org: 'client-a-eu',
  }),
  DeletePublicDashboard: async () => ({
    url: `/api/v1/dashboard/public/${await shareToken()}`,
    org: 'client-a-eu',
  }),
  RotatePublicDashboardToken: async () => ({
    url: `/api/v1/dashboard/public/${await shareToken()}/rotate`,
    org: 'client-a-eu',
  }),
};

const permissionsOf = (role: string): ReadonlySet<Permission> =>
  new Set(MANAGED_ROLES[role] ?? (CUSTOM_ROLES as Record<string, readonly Permission[]>)[role] ?? []);

/** What the access rules say a caller gets. */
function expected(r: Route, org: string, role: string, sample: Sample): number {
  const have = permissionsOf(role);
  if (r.need.permissions.some((p) => !have.has(p))) return 403;
  if (r.need.parentOnly && org !== 'acme') return 403;
  if (sample.org !== undefined && !subtree(tree, org).has(sample.org)) return 404;
  return r.status ?? 200;
}

/** Every org id in a body: `public_id` / `parent` / a share's `dashboard_id` fields and org ids in scope keys. */
function publicIds(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) v.forEach((x) => publicIds(x, out));
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'public_id' || k === 'parent' || k === 'dashboard_id') && typeof x === 'string' && x !== '')
        out.add(x);
      else if (k === 'scope_key' && typeof x === 'string') {
        const m = /(?:^|;)org=([^;]*)/.exec(x);
        if (m?.[1]) out.add(m[1]);
      } else publicIds(x, out);
    }
  return out;
}

describe('the route table', () => {
  it('is every route the server has, and each has a sample here', async () => {
    const table = ROUTES.map((r) => `${r.method} ${r.url}`).sort();
    const served = f.app.registeredRoutes
      .filter((r) => !r.startsWith('HEAD ') && r.includes(' /api/'))
      .sort();
    expect(served).toEqual([...table, 'GET /api/openapi.json'].sort());
    expect(ROUTES.map((r) => r.operationId).filter((id) => !SAMPLES[id])).toEqual([]);
  });

  it('is what the OpenAPI document lists', async () => {
    const doc = (await (await fetch(`${f.url}/api/openapi.json`)).json()) as {
      paths: Record<string, object>;
    };
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(listed.sort()).toEqual(
      ROUTES.map((r) => `${r.method} ${r.url.replace(/:([a-z_]+)/g, '{$1}')}`).sort(),
    );
  });
});

describe.each(ROUTES.map((r) => [`${r.method} ${r.url}`, r] as const))('%s', (_name, r) => {
  it('answers every caller as the access rules say', async () => {
    const wrong: string[] = [];
    let allowed = 0;
    for (const org of CALLER_ORGS)
      for (const role of CALLER_ROLES) {
        const sample = await (SAMPLES[r.operationId] as () => Promise<Sample>)();
        const res = await fetch(f.url + sample.url, {
          method: r.method,
          headers: {
            ...f.headers(`${org}/${role}`),
            ...(sample.body ? { 'content-type': 'application/json' } : {}),
          },
          body: sample.body ? JSON.stringify(sample.body) : undefined,
        });
        const want = expected(r, org, role, sample);
        if (want < 300) allowed += 1;
        const text = await res.text();
        if (res.status !== want)
          wrong.push(`${org}/${role}: ${res.status} (want ${want}) ${text.slice(0, 200)}`);
        else if (res.status >= 400) expect(JSON.parse(text)).toEqual({ errors: [expect.any(String)] });
        else if (text && !r.download) {
          // An allowed answer names no org outside the caller's subtree, anywhere in the body.
          const outside = [...publicIds(JSON.parse(text))].filter((id) => !subtree(tree, org).has(id));
          if (outside.length) wrong.push(`${org}/${role}: sees ${outside.join(', ')}`);
        } else if (r.download && !text.startsWith('month,version,status,currency,public_id,'))
          wrong.push(`${org}/${role}: not the file`);
      }
    expect(wrong).toEqual([]);
    // Every endpoint is reachable by someone: a matrix of refusals only would prove nothing.
    expect(allowed).toBeGreaterThan(0);
  });
});

beforeAll(async () => {
  const rows = (await (
    await fetch(`${f.url}/api/v2/permissions`, { headers: f.headers('acme/admin') })
  ).json()) as {
    data: { id: string; attributes: { name: string } }[];
  };
  for (const p of rows.data) PERMISSION_IDS[p.attributes.name] = p.id;
});
