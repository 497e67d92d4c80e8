import { digest } from '../../db/keys';
import { openShare } from '../../db/shares';
import { API_NOW } from '../support/api';
import { consoleFixture, type ConsoleFixture } from '../support/console';

/**
 * The Shared dashboards page against the database: a share made through the form, its link shown once (the
 * table holds its digest), pause / resume / rotate / revoke, and what a child org, a user without
 * dashboards_public_share and a user who may not read cost are shown and refused.
 */
const PUBLIC_URL = 'http://console.acme.example';
const DAY_MS = 86_400_000;

let f: ConsoleFixture;
beforeAll(async () => {
  f = await consoleFixture({ console: { publicUrl: PUBLIC_URL } });
}, 120_000);
afterAll(() => f?.close());

/** Signs in, reads a CSRF token from a page the user may open, and posts the form as that user. */
async function post(user: string, path: string, form: Record<string, string>, from = '/shares') {
  const cookie = await f.signIn(user);
  const csrf = f.csrfOf((await f.page(user, from)).html);
  return f.post(cookie, path, { csrf, ...form });
}

const share = (form: Record<string, string>, user = 'acme/admin') =>
  post(user, '/shares', {
    form: 'share',
    expiry: '1y',
    show_commitment: 'yes',
    locks: '',
    invitees: '',
    title: '',
    ...form,
  });

/** The link of a "shown once" page, and its token. */
function linkOf(html: string): { url: string; token: string } {
  const url = /<p class="secret" id="share-link">([^<]+)<\/p>/.exec(html)?.[1];
  if (!url) throw new Error(`no link on the page: ${html.slice(0, 2000)}`);
  const token = new RegExp(`^${PUBLIC_URL}/shared/(ots_[A-Za-z0-9_-]{43})$`).exec(url)?.[1];
  if (!token) throw new Error(`not a share link: ${url}`);
  return { url, token };
}

const rowOf = (html: string, id: string) =>
  new RegExp(`<tr id="share-${id}">([\\s\\S]*?)</tr>`).exec(html)?.[1];
const listedIds = (html: string) => [...html.matchAll(/<tr id="share-([0-9a-f-]{36})">/g)].map((m) => m[1]);
const stateOf = (row: string | undefined) => /<span class="status-share-(\w+)">/.exec(row ?? '')?.[1];
const dbShare = (id: string) => f.db('shares').where({ id }).first();
const auditLast = (action: string) => f.db('audit_log').where({ action }).orderBy('id', 'desc').first();

describe('sharing an org dashboard from the console', () => {
  let id: string;
  let token: string;

  it('makes an invite-only share of a child org with a lock, and shows its link once', async () => {
    const res = await share({
      org: 'client-a',
      title: 'Client A web usage',
      locks: 'team=web, env = prod',
      invitees: 'Pat@Client-A.example\r\n\r\n  sam@client-a.example  \r\n',
      expiry: '90d',
    });
    expect(res.status).toBe(200);
    expect(res.html).toContain('it will not be shown again');
    ({ token } = linkOf(res.html));
    const rows = await f.db('shares').select('*');
    expect(rows).toHaveLength(1);
    const row = rows[0];
    id = row.id;
    expect(row).toMatchObject({
      title: 'Client A web usage',
      share_type: 'invite',
      locks: { env: 'prod', team: 'web' },
      show_cost: false,
      show_commitment: true,
      status: 'active',
      created_by: 'user:admin@acme.example',
    });
    expect(new Date(row.expires_at).toISOString()).toBe(new Date(API_NOW + 90 * DAY_MS).toISOString());
    expect((await f.db('orgs').where({ id: row.org_id }).first()).public_id).toBe('client-a');
    expect(await f.db('share_invitees').where({ share_id: id }).orderBy('email').pluck('email')).toEqual([
      'pat@client-a.example',
      'sam@client-a.example',
    ]);
    // Only the digest is kept: no column, and no audit row, holds the token.
    expect(Buffer.compare(row.digest, digest(token))).toBe(0);
    expect(JSON.stringify(rows)).not.toContain(token);
    const audit = await auditLast('share.create');
    expect(audit).toMatchObject({ actor: 'user:admin@acme.example', target: `share:${id}` });
    expect(JSON.stringify(audit)).not.toContain(token);
    expect((await openShare(f.db, token))?.id).toBe(id);
  });

  it('lists the share without its link', async () => {
    const { status, html } = await f.page('acme/admin', '/shares');
    expect(status).toBe(200);
    expect(html).not.toContain(token);
    expect(listedIds(html)).toEqual([id]);
    const row = rowOf(html, id) as string;
    expect(row).toContain('<th scope="row">Client A web usage</th>');
    expect(row).toMatch(/Client A[^<]*<span class="muted">client-a<\/span>/);
    expect(row).toContain('invite-only');
    expect(row).toContain('pat@client-a.example');
    expect(row).toContain('sam@client-a.example');
    expect(row).toContain('<span class="tag">env=prod</span><span class="tag">team=web</span>');
    expect(row).toContain('<span class="tag">commitment</span>');
    expect(row).not.toContain('<span class="tag">cost</span>');
    expect(stateOf(row)).toBe('active');
    expect(row).toContain(new Date(API_NOW + 90 * DAY_MS).toISOString().slice(0, 10));
    expect(row).toContain('admin@acme.example');
    // openShare above recorded the access: the page shows the database's instant.
    const opened = (await dbShare(id)).last_accessed_at as Date;
    expect(row).toContain(`${opened.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  });

  it('pauses and resumes the share', async () => {
    const paused = await post('acme/admin', '/shares/pause', { form: 'row', id });
    expect(paused.status).toBe(303);
    expect(paused.headers.get('location')).toBe('/shares?done=paused');
    expect((await dbShare(id)).status).toBe('paused');
    expect(await openShare(f.db, token)).toBeUndefined();
    expect((await auditLast('share.pause')).target).toBe(`share:${id}`);
    const page = (await f.page('acme/admin', '/shares?done=paused')).html;
    expect(page).toContain('The share is paused');
    expect(stateOf(rowOf(page, id))).toBe('paused');
    expect(rowOf(page, id)).toContain('action="/shares/resume"');
    expect(rowOf(page, id)).not.toContain('action="/shares/pause"');

    const resumed = await post('acme/admin', '/shares/resume', { form: 'row', id });
    expect(resumed.headers.get('location')).toBe('/shares?done=resumed');
    expect((await dbShare(id)).status).toBe('active');
    expect(stateOf(rowOf((await f.page('acme/admin', '/shares')).html, id))).toBe('active');
    expect((await openShare(f.db, token))?.id).toBe(id);
  });

  it('rotates the link: a new one shown once, the old one opens nothing', async () => {
    const res = await post('acme/admin', '/shares/rotate', { form: 'row', id });
    expect(res.status).toBe(200);
    expect(res.html).toContain('it will not be shown again');
    const fresh = linkOf(res.html).token;
    expect(fresh).not.toBe(token);
    expect(await openShare(f.db, token)).toBeUndefined();
    expect((await openShare(f.db, fresh))?.id).toBe(id);
    expect(Buffer.compare((await dbShare(id)).digest, digest(fresh))).toBe(0);
    expect((await auditLast('share.rotate')).actor).toBe('user:admin@acme.example');
    token = fresh;
  });

  it('revokes the share after a confirmation', async () => {
    const ask = await post('acme/admin', '/shares/revoke', { form: 'row', id });
    expect(ask.status).toBe(200);
    expect(ask.html).toContain('id="confirm-revoke"');
    expect(ask.html).toContain(`name="id" value="${id}"`);
    expect((await dbShare(id)).revoked_at).toBeNull();
    expect((await openShare(f.db, token))?.id).toBe(id);

    const done = await post('acme/admin', '/shares/revoke', { form: 'row', id, confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/shares?done=revoked');
    expect((await dbShare(id)).revoked_at).not.toBeNull();
    expect(await openShare(f.db, token)).toBeUndefined();
    expect((await auditLast('share.revoke')).target).toBe(`share:${id}`);
    const page = (await f.page('acme/admin', '/shares?done=revoked')).html;
    const row = rowOf(page, id);
    expect(stateOf(row)).toBe('revoked');
    expect(row).not.toContain('<form');
    // Revoked is for good: the actions find no such share.
    expect((await post('acme/admin', '/shares/resume', { form: 'row', id })).status).toBe(404);
  });

  it('defaults to an open link for a year; a day chosen is the start of that day', async () => {
    const open = await share({ org: 'client-b' });
    expect(open.status).toBe(200);
    const { token: t } = linkOf(open.html);
    const row = (await openShare(f.db, t)) as NonNullable<Awaited<ReturnType<typeof openShare>>>;
    expect(row).toMatchObject({ org: 'client-b', share_type: 'open', title: 'Client B usage' });
    expect(row.expires_at).toBe(new Date(API_NOW + 365 * DAY_MS).toISOString());
    const dated = await share({ org: 'client-a-eu', expiry: 'date', expires_on: '2027-03-31' });
    expect(dated.status).toBe(200);
    expect((await openShare(f.db, linkOf(dated.html).token))?.expires_at).toBe('2027-03-31T00:00:00.000Z');
  });
});

describe('who sees and changes which shares', () => {
  const idsOf = async (orgs: string[]) =>
    (
      await f
        .db('shares as s')
        .join('orgs as o', 'o.id', 's.org_id')
        .whereIn('o.public_id', orgs)
        .orderBy(['s.created_at', 's.id'])
        .select('s.id')
    ).map((r) => r.id as string);

  it("shows a child org its subtree's shares only, and a sibling's share is not found", async () => {
    const { html } = await f.page('client-a/admin', '/shares');
    const mine = await idsOf(['client-a', 'client-a-eu']);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(listedIds(html)).toEqual(mine);
    expect(html).not.toContain('Client B usage');
    // Its org choice is its subtree (the scope's), never a sibling.
    const orgChoice = /<select id="share-org"[^>]*>([\s\S]*?)<\/select>/.exec(html)?.[1] ?? '';
    expect([...orgChoice.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'client-a',
      'client-a-eu',
    ]);

    const [sibling] = await idsOf(['client-b']);
    const before = await dbShare(sibling as string);
    for (const [path, extra] of [
      ['/shares/pause', {}],
      ['/shares/rotate', {}],
      ['/shares/revoke', {}],
      ['/shares/revoke', { confirm: 'yes' }],
    ] as const) {
      const res = await post('client-a/admin', path, { form: 'row', id: sibling as string, ...extra });
      expect(`${path} ${res.status}`).toBe(`${path} 404`);
    }
    const after = await dbShare(sibling as string);
    expect(after).toEqual(before);
    // Its own subtree's, it may change.
    const [own] = await idsOf(['client-a-eu']);
    expect((await post('client-a/admin', '/shares/pause', { form: 'row', id: own as string })).status).toBe(
      303,
    );
    expect((await dbShare(own as string)).status).toBe('paused');
    const sharedSibling = await share({ org: 'client-b' }, 'client-a/admin');
    expect(sharedSibling.status).toBe(404);
    expect(await idsOf(['client-b'])).toEqual([sibling]);
  });

  it('is a 404, and not in the navigation, without dashboards_public_share', async () => {
    for (const user of ['acme/finance', 'client-a/finance']) {
      const res = await f.page(user, '/shares');
      expect(`${user} ${res.status}`).toBe(`${user} 404`);
      expect((await f.page(user, '/usage')).html).not.toContain('href="/shares"');
      const made = await post(user, '/shares', { form: 'share', org: 'acme' }, '/usage');
      expect(`${user} ${made.status}`).toBe(`${user} 404`);
    }
    // dashboards_public_share without usage_read is not enough either: a sharer must see the usage it shares.
    expect((await f.page('acme/standard', '/shares')).status).toBe(404);
    const admin = (await f.page('acme/admin', '/usage')).html;
    expect(admin).toMatch(/href="\/reports"[\s\S]*href="\/shares"[\s\S]*href="\/access"/);
    expect(admin).toContain('>Shared dashboards</a>');
  });

  it('offers showing cost only to a user who may read cost, and refuses it to the others', async () => {
    expect((await f.page('acme/admin', '/shares')).html).toContain('name="show_cost"');
    const child = (await f.page('client-a/admin', '/shares')).html;
    expect(child).not.toContain('name="show_cost"');
    expect(child).toContain('id="share-no-cost"');
    const count = (await f.db('shares').count({ n: '*' }).first())?.n;
    const res = await share({ org: 'client-a', show_cost: 'yes', title: 'with cost' }, 'client-a/admin');
    expect(res.status).toBe(400);
    expect(res.html).toContain('show_cost: only a user who may read cost');
    expect(res.html).toContain('value="with cost"');
    expect((await f.db('shares').count({ n: '*' }).first())?.n).toBe(count);
    // The root org's admin may.
    const ok = await share({ org: 'client-a', show_cost: 'yes', title: 'with cost' });
    expect(ok.status).toBe(200);
    expect((await openShare(f.db, linkOf(ok.html).token))?.show_cost).toBe(true);
  });
});

describe('refusals beside the form', () => {
  const refusalOf = (html: string) =>
    /<form method="post" action="\/shares" class="panel" id="new-share">\s*<div class="error-summary" role="alert">[\s\S]*?<p>([^<]*)<\/p>/.exec(
      html,
    )?.[1];

  it('refuses a lock on a key the account does not attribute by, and shows the tag keys', async () => {
    const count = (await f.db('shares').count({ n: '*' }).first())?.n;
    const res = await share({ org: 'client-a', locks: 'colour=blue', invitees: 'pat@client-a.example' });
    expect(res.status).toBe(400);
    expect(refusalOf(res.html)).toContain('locks: &quot;colour&quot; is not a tag key of acme');
    expect(res.html).toContain('value="colour=blue"');
    expect(res.html).toContain('pat@client-a.example</textarea>');
    expect(res.html).toMatch(/The account's\s+tag keys:\s+team, env, service/);
    expect((await f.db('shares').count({ n: '*' }).first())?.n).toBe(count);
  });

  it.each([
    ['a lock without =', { locks: 'team' }, 'locks: &quot;team&quot; is not key=value'],
    ['a key locked twice', { locks: 'team=web, team=data' }, 'locks: team is locked twice'],
    ['a lock without a value', { locks: 'team=' }, 'locks: team needs a value'],
    [
      'a bad invitee',
      { invitees: 'pat@client-a.example\nnot-an-address' },
      'invitees[1].email: &quot;not-an-address&quot;',
    ],
    ['a day begun', { expiry: 'date', expires_on: '2026-11-01' }, 'expires_on: 2026-11-01 has begun already'],
    ['no day', { expiry: 'date' }, 'expires_on: give the day'],
    [
      'a day with another choice',
      { expiry: '90d', expires_on: '2027-01-01' },
      'expiry: you gave the day 2027-01-01',
    ],
    ['an unknown expiry', { expiry: 'forever' }, 'expiry: &quot;forever&quot; is not one of'],
    ['a long title', { title: 'x'.repeat(201) }, 'title: give 1 to 200 characters'],
  ])('refuses %s with a 400 naming the field', async (_label, form, message) => {
    const res = await share({ org: 'client-a', ...form });
    expect(res.status).toBe(400);
    expect(refusalOf(res.html)).toContain(message);
  });
});
