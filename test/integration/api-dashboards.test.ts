import { client, v1 } from '@datadog/datadog-api-client';
import { digest } from '../../db/keys';
import { API_NOW, apiFixture, type ApiFixture } from '../support/api';

/**
 * The shared-dashboard endpoints over HTTP, with the official Datadog TypeScript client where Datadog has the
 * endpoint: every answer is checked against the rows of shares, share_invitees and audit_log.
 */
const PUBLIC_URL = 'https://usage.acme.example';
const BASE = '/api/v1/dashboard/public';
const TOKEN = /^ots_[A-Za-z0-9_-]{43}$/;
let f: ApiFixture;

beforeAll(async () => {
  f = await apiFixture({ console: { publicUrl: `${PUBLIC_URL}/` } });
}, 120_000);
afterAll(async () => f?.close());

const dashboards = (user: string) => {
  const k = f.keys[user] as { api_key: string; application_key: string };
  return new v1.DashboardsApi(
    client.createConfiguration({
      baseServer: new client.BaseServerConfiguration(f.url, {}),
      authMethods: { apiKeyAuth: k.api_key, appKeyAuth: k.application_key },
    }),
  );
};
const actor = (user: string) =>
  `key:${f.keys[user]?.id} (${user.split('/')[1]}@${user.split('/')[0]}.example)`;

/** The status and `errors` of a call the official client saw refused. */
async function refusal(p: Promise<unknown>): Promise<{ code: number; errors: string[] }> {
  try {
    await p;
  } catch (err) {
    const e = err as client.ApiException<{ errors: string[] }>;
    return { code: e.code, errors: e.body.errors };
  }
  throw new Error('the call was not refused');
}

async function call(user: string, method: string, path: string, body?: unknown) {
  const res = await fetch(f.url + path, {
    method,
    headers: { ...f.headers(user), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

const shareRow = async (id: string) =>
  f.db('shares').where({ id }).first('*', f.db.raw('shares::text AS whole'));
const auditOf = (id: string) =>
  f
    .db('audit_log')
    .where({ target: `share:${id}` })
    .orderBy('id')
    .select('actor', 'action', 'before', 'after');
const shareCount = async () => Number((await f.db('shares').count({ n: '*' }))[0]?.n);

describe('the official client: create, read, pause, delete', () => {
  it('shares a child org with an invitee and a lock, and every step is in the rows and the audit log', async () => {
    const api = dashboards('acme/admin');
    const created = await api.createPublicDashboard({
      body: {
        dashboardId: 'client-a',
        dashboardType: 'custom_timeboard',
        shareType: 'invite',
        title: 'Client A usage',
        expiration: new Date('2027-06-01T00:00:00Z'),
        invitees: [{ email: 'Pat@Client-A.example', accessExpiration: new Date('2027-03-01T00:00:00Z') }],
        selectableTemplateVars: [{ name: 'env', defaultValue: 'prod' }],
        globalTime: { liveSpan: '1w' }, // Datadog's; orgtally ignores it
        additionalProperties: { show_cost: true, show_commitment: false },
      },
    });
    const token = created.token as string;
    expect(token).toMatch(TOKEN);
    expect(created.publicUrl).toBe(`${PUBLIC_URL}/shared/${token}`);
    expect(created.dashboardId).toBe('client-a');
    expect(created.dashboardType).toBe('custom_timeboard');
    expect(created.shareType).toBe('invite');
    expect(created.status).toBe('active');
    expect(created.title).toBe('Client A usage');
    expect(created.expiration?.toISOString()).toBe('2027-06-01T00:00:00.000Z');
    expect(created.invitees?.map((i) => [i.email, i.accessExpiration?.toISOString()])).toEqual([
      ['pat@client-a.example', '2027-03-01T00:00:00.000Z'],
    ]);
    expect(
      created.selectableTemplateVars?.map((v) => [v.name, v.prefix, v.defaultValue, v.visibleTags]),
    ).toEqual([['env', 'env', 'prod', ['prod']]]);
    const id = created.additionalProperties?.id as string;
    // orgtally's own fields reach the client as additionalProperties, both ways.
    expect(created.additionalProperties).toMatchObject({
      state: 'active',
      org_name: expect.any(String),
      show_cost: true,
      show_commitment: false,
    });

    const row = await shareRow(id);
    expect(row).toMatchObject({
      account_id: 'acme',
      title: 'Client A usage',
      dashboard_type: 'custom_timeboard',
      share_type: 'invite',
      locks: { env: 'prod' },
      show_cost: true,
      show_commitment: false,
      status: 'active',
      revoked_at: null,
      created_by: actor('acme/admin'),
    });
    expect(new Date(row.expires_at).toISOString()).toBe('2027-06-01T00:00:00.000Z');
    expect((await f.db('orgs').where({ id: row.org_id }).first('public_id')).public_id).toBe('client-a');
    // The token is held as its digest only: no column holds its text.
    expect(Buffer.compare(row.digest, digest(token))).toBe(0);
    expect(row.whole).not.toContain(token);
    expect(row.whole).not.toContain(token.slice(4));
    const invitees = await f
      .db('share_invitees')
      .where({ share_id: id })
      .select('email', 'access_expiration');
    expect(invitees.map((i) => [i.email, new Date(i.access_expiration).toISOString()])).toEqual([
      ['pat@client-a.example', '2027-03-01T00:00:00.000Z'],
    ]);

    const read = await api.getPublicDashboard({ token });
    expect(read.token).toBe(token);
    expect(read.publicUrl).toBe(created.publicUrl);
    expect(read.additionalProperties?.id).toBe(id);
    expect(read.selectableTemplateVars?.[0]?.defaultValue).toBe('prod');

    const paused = await api.updatePublicDashboard({ token, body: { status: 'paused' } });
    expect(paused.status).toBe('paused');
    expect(paused.additionalProperties?.state).toBe('paused');
    expect(paused.token).toBe(token);
    expect((await shareRow(id)).status).toBe('paused');

    const changed = await api.updatePublicDashboard({
      token,
      body: { title: 'Client A, prod', additionalProperties: { show_commitment: true } },
    });
    expect([changed.title, changed.status, changed.additionalProperties?.show_commitment]).toEqual([
      'Client A, prod',
      'paused',
      true,
    ]);
    expect(await shareRow(id)).toMatchObject({
      title: 'Client A, prod',
      show_commitment: true,
      show_cost: true,
    });

    const deleted = await api.deletePublicDashboard({ token });
    expect(deleted.deletedPublicDashboardToken).toBe(token);
    const revoked = await shareRow(id);
    expect(revoked.revoked_at).not.toBeNull(); // revoked, not deleted: the row stays for the list and the log
    expect(await refusal(api.getPublicDashboard({ token }))).toMatchObject({ code: 404 });
    expect((await call('acme/admin', 'GET', BASE)).json.data).toContainEqual(
      expect.objectContaining({ id, state: 'revoked' }),
    );

    const log = await auditOf(id);
    expect(log.map((r) => [r.actor, r.action])).toEqual(
      ['share.create', 'share.pause', 'share.update', 'share.revoke'].map((a) => [actor('acme/admin'), a]),
    );
    expect(log[0]?.after).toMatchObject({ org: 'client-a', locks: { env: 'prod' }, show_cost: true });
    expect(log[1]?.before).toMatchObject({ status: 'active' });
    expect(log[1]?.after).toMatchObject({ status: 'paused' });
    expect(JSON.stringify(log)).not.toContain(token);
  });

  it('refuses embed through the official client, naming share_type', async () => {
    const before = await shareCount();
    const r = await refusal(
      dashboards('acme/admin').createPublicDashboard({
        body: { dashboardId: 'client-a', dashboardType: 'custom_timeboard', shareType: 'embed' },
      }),
    );
    expect(r.code).toBe(400);
    expect(r.errors).toEqual([expect.stringMatching(/^share_type: orgtally does not embed/)]);
    expect(await shareCount()).toBe(before);
  });
});

describe('orgtally’s own: the token, the list, rotation', () => {
  it('answers with the token only when the path carried it; rotation replaces the digest', async () => {
    const c = await call('client-a/admin', 'POST', BASE, {
      dashboard_id: 'client-a-eu',
      dashboard_type: 'custom_screenboard',
      expiration: null,
    });
    expect(c.status).toBe(200);
    expect(c.headers.get('x-ratelimit-name')).toBe('dashboards');
    const { id, token } = c.json as { id: string; token: string };
    expect(c.json).toMatchObject({
      dashboard_id: 'client-a-eu',
      share_type: 'open',
      show_cost: false,
      show_commitment: true,
      // null is orgtally's default: a year on from the request's instant
      expiration: new Date(API_NOW + 365 * 86_400_000).toISOString().replace('.000Z', '+00:00'),
      author: { handle: `${f.keys['client-a/admin']?.id} (admin@client-a.example)`, name: null },
    });

    const byId = await call('client-a/admin', 'GET', `${BASE}/${id}`);
    expect(byId.status).toBe(200);
    expect(byId.json.id).toBe(id);
    expect(byId.json).not.toHaveProperty('token');
    expect(byId.json).not.toHaveProperty('public_url');

    const listed = await call('client-a/admin', 'GET', BASE);
    const mine = (listed.json.data as Record<string, unknown>[]).find((s) => s.id === id);
    expect(mine).toMatchObject({ id, dashboard_id: 'client-a-eu' });
    expect(mine).not.toHaveProperty('token');
    // A sibling's list does not have it.
    const sibling = (await call('client-b/admin', 'GET', BASE)).json.data as Record<string, unknown>[];
    expect(sibling.map((s) => s.id)).not.toContain(id);
    expect(new Set(sibling.map((s) => s.dashboard_id))).toEqual(new Set(sibling.length ? ['client-b'] : []));

    const rotated = await call('client-a/admin', 'POST', `${BASE}/${id}/rotate`);
    expect(rotated.status).toBe(200);
    const fresh = rotated.json.token as string;
    expect(fresh).toMatch(TOKEN);
    expect(fresh).not.toBe(token);
    expect(rotated.json.public_url).toBe(`${PUBLIC_URL}/shared/${fresh}`);
    expect(Buffer.compare((await shareRow(id)).digest, digest(fresh))).toBe(0);
    expect((await call('client-a/admin', 'GET', `${BASE}/${token}`)).status).toBe(404);
    expect((await call('client-a/admin', 'GET', `${BASE}/${fresh}`)).json.token).toBe(fresh);

    // DELETE answers with what the path carried: here the id.
    const d = await call('client-a/admin', 'DELETE', `${BASE}/${id}`);
    expect(d).toMatchObject({ status: 200, json: { deleted_public_dashboard_token: id } });
    expect((await auditOf(id)).map((r) => r.action)).toEqual([
      'share.create',
      'share.rotate',
      'share.revoke',
    ]);
  });

  it('takes a share back as it sent it (read-only and Datadog-only fields are ignored), and resumes it', async () => {
    const first = await call('acme/admin', 'POST', BASE, {
      dashboard_id: 'client-b',
      dashboard_type: 'custom_timeboard',
      title: 'B',
      selectable_template_vars: [
        { name: 'team', default_value: 'web', prefix: 'team', visible_tags: ['web'] },
      ],
      global_time: { live_span: '1mo' },
      global_time_selectable_enabled: true,
      embeddable_domains: [],
      share_list: [],
      viewing_preferences: { theme: 'dark', high_density: false },
    });
    expect(first.status).toBe(200);
    const copy = await call('acme/admin', 'POST', BASE, first.json);
    expect(copy.status).toBe(200);
    expect(copy.json.id).not.toBe(first.json.id);
    expect(copy.json.token).not.toBe(first.json.token);
    expect((await shareRow(copy.json.id as string)).locks).toEqual({ team: 'web' });

    const token = copy.json.token as string;
    await call('acme/admin', 'PUT', `${BASE}/${token}`, { status: 'paused' });
    const resumed = await call('acme/admin', 'PUT', `${BASE}/${token}`, {
      status: 'active',
      expiration: null,
    });
    expect(resumed.json).toMatchObject({ status: 'active', state: 'active' });
    expect(new Date((await shareRow(copy.json.id as string)).expires_at).getTime()).toBe(
      API_NOW + 365 * 86_400_000,
    );
    expect((await auditOf(copy.json.id as string)).map((r) => r.action)).toEqual([
      'share.create',
      'share.pause',
      'share.update', // status and expiry together: an update, not a bare resume
    ]);
  });
});

describe('scope and permissions', () => {
  it('a share outside the caller’s orgs is 404, said as for one that does not exist, and stays untouched', async () => {
    const b = await call('acme/admin', 'POST', BASE, {
      dashboard_id: 'client-b',
      dashboard_type: 'custom_timeboard',
    });
    const { id, token } = b.json as { id: string; token: string };
    const before = await shareRow(id);
    const unknown = await call('client-a/admin', 'GET', `${BASE}/ots_${'x'.repeat(43)}`);
    expect(unknown.status).toBe(404);
    for (const [method, path, body] of [
      ['GET', `${BASE}/${token}`],
      ['GET', `${BASE}/${id}`],
      ['PUT', `${BASE}/${token}`, { status: 'paused' }],
      ['DELETE', `${BASE}/${token}`],
      ['POST', `${BASE}/${token}/rotate`],
    ] as const) {
      const r = await call('client-a/admin', method, path, body);
      expect([method, path, r.status]).toEqual([method, path, 404]);
      expect((r.json.errors as string[])[0]).toMatch(
        /^no shared dashboard "(ots_.{4}…|[0-9a-f-]{36})" in account acme$/,
      );
      expect(JSON.stringify(r.json)).not.toContain(token);
    }
    // The official client sees the same.
    expect(await refusal(dashboards('client-a/admin').getPublicDashboard({ token }))).toMatchObject({
      code: 404,
    });
    const after = await shareRow(id);
    expect([after.status, after.revoked_at, after.updated_at]).toEqual([
      before.status,
      null,
      before.updated_at,
    ]);
    expect(Buffer.compare(after.digest, digest(token))).toBe(0);
    expect((await auditOf(id)).map((r) => r.action)).toEqual(['share.create']);

    // Nor may a child-org user share a sibling's or its parent's dashboard.
    for (const org of ['client-b', 'acme']) {
      const r = await call('client-a/admin', 'POST', BASE, {
        dashboard_id: org,
        dashboard_type: 'custom_timeboard',
      });
      expect([org, r.status]).toEqual([org, 404]);
    }
  });

  it('403 without dashboards_public_share (or without usage_read)', async () => {
    const before = await shareCount();
    for (const user of ['client-a/editor', 'acme/finance', 'acme/standard']) {
      const r = await refusal(
        dashboards(user).createPublicDashboard({
          body: { dashboardId: 'client-a', dashboardType: 'custom_timeboard' },
        }),
      );
      expect([user, r.code]).toEqual([user, 403]);
      expect(r.errors[0]).toMatch(user === 'acme/standard' ? /usage_read/ : /dashboards_public_share/);
      expect((await call(user, 'GET', BASE)).status).toBe(403);
    }
    expect(await shareCount()).toBe(before);
  });
});

describe('400s name the parameter, and write nothing', () => {
  const body = { dashboard_id: 'client-a', dashboard_type: 'custom_timeboard' };
  it.each([
    ['acme/admin', { ...body, expiration: 'next tuesday' }, /^expiration: "next tuesday" is not an ISO 8601/],
    ['acme/admin', { ...body, expiration: '2026-01-01T00:00:00Z' }, /^expiration: must be in the future/],
    [
      'acme/admin',
      { ...body, selectable_template_vars: [{ name: 'colour', default_value: 'red' }] },
      /^selectable_template_vars: "colour" is not a tag key of acme \(its keys: .*env/,
    ],
    [
      'acme/admin',
      { ...body, selectable_template_vars: [{ name: 'env' }] },
      /^selectable_template_vars\[0\]\.default_value: is required/,
    ],
    [
      'acme/admin',
      {
        ...body,
        selectable_template_vars: [{ name: 'env', default_value: 'prod', visible_tags: ['prod', 'dev'] }],
      },
      /^selectable_template_vars\[0\]\.visible_tags:/,
    ],
    ['acme/admin', { ...body, share_type: 'invite' }, /^invitees: an invite-only share needs/],
    ['acme/admin', { ...body, share_type: 'invite', invitees: [] }, /^invitees: an invite-only share needs/],
    ['acme/admin', { ...body, invitees: [{ email: 'nobody' }] }, /^invitees\[0\]\.email: "nobody"/],
    ['client-a/admin', { ...body, show_cost: true }, /^show_cost: only a user who may read cost/],
    ['acme/admin', { ...body, share_type: 'embed' }, /^share_type: orgtally does not embed/],
    ['acme/admin', { ...body, status: 'paused' }, /^status: a new share starts active/],
    ['acme/admin', { ...body, show_costs: true }, /^unknown parameter "show_costs"$/],
    ['acme/admin', { dashboard_type: 'custom_timeboard' }, /^dashboard_id: is required$/],
    ['acme/admin', { ...body, dashboard_type: 'timeboard' }, /^dashboard_type: must be custom_timeboard or/],
  ])('%s POST %j', async (user, b, message) => {
    const before = await shareCount();
    const r = await call(user, 'POST', BASE, b);
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual([expect.stringMatching(message)]);
    expect(await shareCount()).toBe(before);
  });

  it('an update is checked the same way, and changes nothing when refused', async () => {
    const c = await call('client-a/admin', 'POST', BASE, body);
    const { id, token } = c.json as { id: string; token: string };
    for (const [b, message] of [
      [{ show_cost: true }, /^show_cost: only a user who may read cost/],
      [{ share_type: 'invite' }, /^invitees: an invite-only share needs/],
      [{ status: 'gone' }, /^status: must be active or paused$/],
      [{ expiration: 'soon' }, /^expiration: "soon" is not an ISO 8601/],
      [
        { selectable_template_vars: [{ name: 'region', default_value: 'eu' }] },
        /^selectable_template_vars: "region"/,
      ],
      [{ dashboard_id: 'client-a-eu' }, /^unknown parameter "dashboard_id"$/],
    ] as const) {
      const r = await call('client-a/admin', 'PUT', `${BASE}/${token}`, b);
      expect([b, r.status, r.json.errors]).toEqual([b, 400, [expect.stringMatching(message)]]);
    }
    expect((await auditOf(id)).map((r) => r.action)).toEqual(['share.create']);
    expect(await shareRow(id)).toMatchObject({ show_cost: false, share_type: 'open', locks: {} });
  });
});
