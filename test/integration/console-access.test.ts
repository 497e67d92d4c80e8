import { listRoles } from '../../db/access';
import { digest } from '../../db/keys';
import { PERMISSIONS } from '../../domain/access';
import { simpleParser } from 'mailparser';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import { consoleFixture, type ConsoleFixture } from '../support/console';

let f: ConsoleFixture;
let sink: MailSink;
beforeAll(async () => {
  sink = await startMailSink();
  f = await consoleFixture({
    console: { mail: { url: sink.url, from: 'orgtally <orgtally@acme.example>' } },
  });
}, 120_000);
afterAll(async () => {
  await f?.close();
  await sink?.close();
});

const rowsOf = (html: string, table: string) =>
  [
    ...(new RegExp(`<table id="${table}"[^>]*>([\\s\\S]*?)</table>`).exec(html)?.[1] ?? '').matchAll(
      /<th scope="row">([^<]+?)\s*(?:<|$)/g,
    ),
  ].map((m) => (m[1] as string).trim());

const usersOf = async (orgs: string[]) =>
  (
    await f
      .db('users as u')
      .join('orgs as o', 'o.id', 'u.org_id')
      .whereIn('o.public_id', orgs)
      .orderBy('u.email')
      .pluck('u.email')
  ).sort();

/** Signs in, reads the page's CSRF token and posts the form as that user. */
async function post(user: string, path: string, form: Record<string, string>) {
  const cookie = await f.signIn(user);
  const csrf = f.csrfOf((await f.page(user, '/access')).html);
  return f.post(cookie, path, { csrf, ...form });
}

const auditLast = (action: string) => f.db('audit_log').where({ action }).orderBy('id', 'desc').first();

describe('the Access page', () => {
  it("lists a child org's users and keys only, never a sibling's", async () => {
    const { status, html } = await f.page('client-a/admin', '/access');
    expect(status).toBe(200);
    expect(rowsOf(html, 'users').sort()).toEqual(await usersOf(['client-a', 'client-a-eu']));
    const keyOwners = await f
      .db('api_keys as k')
      .join('users as u', 'u.id', 'k.user_id')
      .join('orgs as o', 'o.id', 'u.org_id')
      .whereIn('o.public_id', ['client-a', 'client-a-eu'])
      .pluck('k.id');
    expect(rowsOf(html, 'keys').sort()).toEqual(keyOwners.sort());
    for (const other of ['client-b', 'client-c', 'trial-x', '@acme.example'])
      expect(html).not.toContain(other);
    // Its audit log is about its users and keys only.
    const targets = [...html.matchAll(/<tr id="audit-\d+">[\s\S]*?<\/tr>/g)].map((m) => m[0]);
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) expect(t).toMatch(/(user:[^<]+@client-a(-eu)?\.example|key:[0-9a-f-]{36})/);
  });

  it('shows the whole account to the root org, with whether each user has a password (never the hash)', async () => {
    await f
      .db('users')
      .where({ email: 'standard@client-b.example' })
      .update({ password_hash: '$argon2id$v=19$secret-hash' });
    const { html } = await f.page('acme/read_only', '/access');
    expect(rowsOf(html, 'users').sort()).toEqual((await f.db('users').pluck('email')).sort());
    const row = new RegExp('<th scope="row">standard@client-b\\.example</th>[\\s\\S]*?</tr>').exec(html)?.[0];
    expect(row).toMatch(/<td>\s*set\s*<\/td>/);
    expect(html).not.toContain('argon2id');
    expect(html).not.toContain('id="invite"'); // read_only holds user_access_read only
    expect(html).not.toContain('/access/users/remove');
  });

  it('draws the role grid from the roles in the database', async () => {
    const { html } = await f.page('acme/standard', '/access');
    const roles = await listRoles(f.db, 'acme');
    expect(rowsOf(html, 'roles')).toEqual(roles.map((r) => r.name));
    for (const r of roles)
      for (const p of PERMISSIONS)
        expect(html).toContain(
          `<span class="visually-hidden">${r.name} ${r.permissions.includes(p.name) ? 'has' : 'lacks'} ${p.name}</span>`,
        );
  });

  it('is a 404 without user_access_read, and a 400 naming a bad parameter', async () => {
    expect((await f.page('acme/finance', '/access')).status).toBe(404);
    expect((await f.page('client-a/notify', '/access')).status).toBe(404);
    const bad = await f.page('acme/admin', '/access?done=everything');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('done: &quot;everything&quot; is not one of');
  });
});

describe('inviting and removing users', () => {
  it('invites a user: the link is shown once and opens the set-password page', async () => {
    const res = await post('acme/admin', '/access/invite', {
      form: 'invite',
      email: 'New.Person@Client-B.example',
      org: 'client-b',
      role_read_only: 'yes',
      role_finance: 'yes',
    });
    expect(res.status).toBe(200);
    const link = /<p class="secret" id="invitation-link">([^<]+)<\/p>/.exec(res.html)?.[1] as string;
    const token = /\/invite\/(otl_[A-Za-z0-9_-]+)$/.exec(link)?.[1];
    expect(token).toBeDefined();
    // Mailed once, through the ledger, with the same link.
    expect(res.html).toContain('The invitation was mailed to new.person@client-b.example');
    const mails = sink.messages.filter((m) => m.to.includes('new.person@client-b.example'));
    expect(mails).toHaveLength(1);
    expect((await simpleParser(mails[0]!.raw)).text).toContain(link);
    expect(
      await f.db('deliveries').where({ kind: 'invitation', status: 'sent' }).count({ n: '*' }).first(),
    ).toEqual({ n: '1' });
    const user = await f.db('users').where({ email: 'new.person@client-b.example' }).first();
    expect(user.password_hash).toBeNull();
    const tokenRow = await f.db('login_tokens').where({ user_id: user.id }).first();
    expect(tokenRow.kind).toBe('invite');
    expect(Buffer.compare(tokenRow.digest, digest(token as string))).toBe(0);
    const invite = await fetch(`${f.url}/invite/${token}`);
    expect(invite.status).toBe(200);
    expect(await invite.text()).toMatch(/type="password"/);
    expect((await auditLast('user.add')).actor).toBe('user:admin@acme.example');
    expect((await auditLast('user.invite')).target).toBe('user:new.person@client-b.example');
    // The page lists the user without its link.
    const page = (await f.page('acme/admin', '/access')).html;
    expect(rowsOf(page, 'users')).toContain('new.person@client-b.example');
    expect(page).not.toContain(token);
  });

  it('refuses to grant a permission the manager lacks, and an org outside its subtree', async () => {
    const grant = await post('client-a/access', '/access/invite', {
      form: 'invite',
      email: 'grab@client-a.example',
      org: 'client-a',
      role_finance: 'yes',
    });
    expect(grant.status).toBe(400);
    expect(grant.html).toContain(
      'you cannot grant finance: it holds billing_read, usage_read, which you do not hold',
    );
    expect(grant.html).toContain('value="grab@client-a.example"');
    const sibling = await post('client-a/access', '/access/invite', {
      form: 'invite',
      email: 'grab@client-a.example',
      org: 'client-b',
      role_access: 'yes',
    });
    expect(sibling.status).toBe(400);
    expect(sibling.html).toContain('org: choose one of your organizations');
    expect(await f.db('users').where({ email: 'grab@client-a.example' }).first()).toBeUndefined();
    // What it holds, it may hand out, in its own subtree.
    const ok = await post('client-a/access', '/access/invite', {
      form: 'invite',
      email: 'grab@client-a.example',
      org: 'client-a-eu',
      role_access: 'yes',
    });
    expect(ok.status).toBe(200);
  });

  it('refuses a form without its CSRF token, and a manager-less user', async () => {
    const noToken = await f.post(await f.signIn('acme/admin'), '/access/invite', {
      email: 'x@acme.example',
      org: 'acme',
      role_admin: 'yes',
    });
    expect(noToken.status).toBe(403);
    const reader = await post('acme/standard', '/access/invite', {
      email: 'x@acme.example',
      org: 'acme',
      role_read_only: 'yes',
    });
    expect(reader.status).toBe(404);
    expect(await f.db('users').where({ email: 'x@acme.example' }).first()).toBeUndefined();
  });

  it('removes a user after a confirmation, with an audit row; a sibling is not found', async () => {
    const first = await post('acme/admin', '/access/users/remove', {
      form: 'row',
      email: 'read_only@client-b.example',
    });
    expect(first.status).toBe(200);
    expect(first.html).toContain('id="confirm-remove"');
    expect(await f.db('users').where({ email: 'read_only@client-b.example' }).first()).toBeDefined();
    const sibling = await post('client-a/admin', '/access/users/remove', {
      form: 'row',
      email: 'read_only@client-b.example',
      confirm: 'yes',
    });
    expect(sibling.status).toBe(404);
    const done = await post('acme/admin', '/access/users/remove', {
      form: 'row',
      email: 'read_only@client-b.example',
      confirm: 'yes',
    });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/access?done=user-removed');
    expect(await f.db('users').where({ email: 'read_only@client-b.example' }).first()).toBeUndefined();
    const row = await auditLast('user.remove');
    expect(row).toMatchObject({
      actor: 'user:admin@acme.example',
      target: 'user:read_only@client-b.example',
    });
  });

  it('does not let a manager remove a user who holds more than it', async () => {
    const res = await post('client-a/access', '/access/users/remove', {
      form: 'row',
      email: 'admin@client-a.example',
      confirm: 'yes',
    });
    expect(res.status).toBe(400);
    expect(res.html).toContain('You cannot remove admin@client-a.example');
    expect(await f.db('users').where({ email: 'admin@client-a.example' }).first()).toBeDefined();
  });
});

describe('roles and keys', () => {
  it('creates and deletes a custom role from the root org, within what the manager holds', async () => {
    const made = await post('acme/admin', '/access/roles', {
      form: 'role',
      name: 'auditor',
      perm_user_access_read: 'yes',
      perm_usage_read: 'yes',
    });
    expect(made.status).toBe(303);
    expect((await listRoles(f.db, 'acme')).find((r) => r.name === 'auditor')?.permissions).toEqual([
      'usage_read',
      'user_access_read',
    ]);
    expect((await auditLast('role.create')).actor).toBe('user:admin@acme.example');
    const more = await post('acme/access', '/access/roles', {
      form: 'role',
      name: 'sneaky',
      perm_billing_edit: 'yes',
    });
    expect(more.status).toBe(400);
    expect(more.html).toContain('you cannot create a role with billing_edit');
    expect(
      (await post('client-a/admin', '/access/roles', { form: 'role', name: 'x', perm_usage_read: 'yes' }))
        .status,
    ).toBe(404);
    const gone = await post('acme/admin', '/access/roles/delete', { form: 'row', role: 'auditor' });
    expect(gone.status).toBe(303);
    expect((await listRoles(f.db, 'acme')).some((r) => r.name === 'auditor')).toBe(false);
    expect((await auditLast('role.delete')).target).toBe('role:auditor');
  });

  it('creates a key shown once, then listed without its secrets', async () => {
    const res = await post('client-a/access', '/access/keys', {
      form: 'key',
      name: 'nightly export',
      scope_user_access_read: 'yes',
      expires: '2027-01-31',
    });
    expect(res.status).toBe(200);
    const apiKey = /<p class="secret" id="api-key">([^<]+)<\/p>/.exec(res.html)?.[1] as string;
    const appKey = /<p class="secret" id="application-key">([^<]+)<\/p>/.exec(res.html)?.[1] as string;
    expect(res.html).toContain('will not be shown again');
    const stored = await f
      .db('api_keys')
      .where({ api_key_digest: digest(apiKey) })
      .first();
    expect(stored).toMatchObject({ name: 'nightly export', scopes: ['user_access_read'] });
    expect(Buffer.compare(stored.app_key_digest, digest(appKey))).toBe(0);
    expect(new Date(stored.expires_at).toISOString()).toBe('2027-01-31T00:00:00.000Z');
    const page = (await f.page('client-a/access', '/access')).html;
    expect(rowsOf(page, 'keys')).toContain(stored.id);
    expect(page).not.toContain(apiKey);
    expect(page).not.toContain(appKey);
    expect(await auditLast('key.create')).toMatchObject({
      actor: 'user:access@client-a.example',
      target: `key:${stored.id}`,
    });
    const past = await post('client-a/access', '/access/keys', {
      form: 'key',
      name: 'old',
      expires: '2026-11-01',
    });
    expect(past.status).toBe(400);
    expect(past.html).toContain('expires: 2026-11-01 has begun already');
  });

  it('revokes a key of its subtree, never a sibling’s', async () => {
    const [key] = await f
      .db('api_keys as k')
      .join('users as u', 'u.id', 'k.user_id')
      .where('u.email', 'standard@client-b.example')
      .pluck('k.id');
    expect((await post('client-a/admin', '/access/keys/revoke', { form: 'row', id: key })).status).toBe(404);
    expect((await f.db('api_keys').where({ id: key }).first()).revoked_at).toBeNull();
    const res = await post('acme/admin', '/access/keys/revoke', { form: 'row', id: key });
    expect(res.status).toBe(303);
    expect((await f.db('api_keys').where({ id: key }).first()).revoked_at).not.toBeNull();
    expect(await auditLast('key.revoke')).toMatchObject({
      actor: 'user:admin@acme.example',
      target: `key:${key}`,
    });
    const api = await fetch(`${f.url}/api/v1/validate`, { headers: f.headers('client-b/standard') });
    expect(api.status).toBe(403);
  });
});
