import { hashPassword } from '../../api/passwords';
import { auditRows } from '../../db/audit';
import { setPassword } from '../../db/sessions';
import { USERS } from '../support/api';
import { consoleFixture, linkFor, type ConsoleFixture } from '../support/console';

let f: ConsoleFixture;
beforeAll(async () => {
  f = await consoleFixture();
}, 120_000);
afterAll(() => f?.close());

const PASSWORD = 'a long enough passphrase';

async function withPassword(user: string): Promise<void> {
  const u = USERS[user]!;
  const row = await f.db('users').where({ account_id: 'acme', email: u.email }).first('id');
  const hash = await hashPassword(PASSWORD);
  await f.db.transaction((trx) => setPassword(trx, { userId: row.id, hash, actor: 'test' }));
}

/** The sign-in form as a browser gets it: its pre-session cookie and CSRF token. */
async function signInForm(): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${f.url}/sign-in`);
  const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
  return { cookie, csrf: f.csrfOf(await res.text()) };
}

async function signIn(email: string, password: string, opts: { csrf?: string; next?: string } = {}) {
  const form = await signInForm();
  return f.post(form.cookie, '/sign-in', {
    csrf: opts.csrf ?? form.csrf,
    email,
    password,
    next: opts.next ?? '/usage',
  });
}

const sessionCookie = (h: Headers) => h.getSetCookie().find((c) => c.startsWith('ot_session='));

describe('signing in', () => {
  it('signs in with the password and sets a session cookie no script can read', async () => {
    await withPassword('acme/finance');
    const res = await signIn(USERS['acme/finance']!.email, PASSWORD);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/usage');
    const set = sessionCookie(res.headers)!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Lax/);
    expect(set).not.toMatch(/Secure/); // plain http here; ORGTALLY_PUBLIC_URL https:// adds it
    const token = /^ot_session=([^;]+)/.exec(set)![1]!;
    // Only the digest is kept.
    const stored = await f.db('sessions').pluck('digest');
    expect(stored.some((d: Buffer) => d.toString('utf8').includes(token))).toBe(false);
  });

  it('answers the same for an unknown e-mail and a wrong password', async () => {
    await withPassword('client-a/admin');
    const wrong = await signIn(USERS['client-a/admin']!.email, 'not the passphrase');
    const unknown = await signIn('nobody@nowhere.example', PASSWORD);
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.html).toContain('The e-mail address or the password is not right.');
    expect(unknown.html).toContain('The e-mail address or the password is not right.');
  });

  it('refuses a sign-in without the CSRF token of the form', async () => {
    const res = await signIn(USERS['acme/finance']!.email, PASSWORD, { csrf: 'forged' });
    expect(res.status).toBe(403);
    expect(sessionCookie(res.headers)).toBeUndefined();
  });

  it('stops guessing after 5 failures for one e-mail, even with the right password', async () => {
    await withPassword('client-b/finance');
    const email = USERS['client-b/finance']!.email;
    for (let i = 0; i < 5; i++) expect((await signIn(email, `guess ${i} of many`)).status).toBe(401);
    const limited = await signIn(email, PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.html).toContain('Too many failed sign-ins for this account');
  });

  it('never sends the browser off the console after sign-in', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const res = await signIn(USERS['acme/finance']!.email, PASSWORD, { next });
      expect(`${next} ${res.status}`).toBe(`${next} 400`);
      expect(res.html).toContain('next: must be a path of the console');
    }
  });
});

describe('sessions', () => {
  it('ends at sign-out, when idle too long, and at the absolute expiry', async () => {
    const cookie = await f.signIn('client-a-eu/admin');
    expect((await fetch(`${f.url}/usage`, { headers: { cookie } })).status).toBe(200);
    await f.db('sessions').update({ last_seen_at: f.db.raw(`now() - interval '3 hours'`) });
    const idle = await fetch(`${f.url}/usage`, { headers: { cookie }, redirect: 'manual' });
    expect(idle.status).toBe(303);
    expect(idle.headers.get('location')).toBe('/sign-in?next=%2Fusage');

    const page = await f.page('acme/editor', '/usage');
    expect(page.status).toBe(200);
    await f.db('sessions').update({ expires_at: f.db.raw(`now() - interval '1 second'`) });
    expect((await f.page('acme/editor', '/usage')).status).toBe(303);
  });

  it('ends every session of a user whose password changes', async () => {
    const a = await signIn(USERS['client-a/editor']!.email, PASSWORD).then(() => f.signIn('client-a/editor'));
    expect((await fetch(`${f.url}/usage`, { headers: { cookie: a } })).status).toBe(200);
    await withPassword('client-a/editor');
    expect((await fetch(`${f.url}/usage`, { headers: { cookie: a }, redirect: 'manual' })).status).toBe(303);
    const rows = await auditRows(f.db, { accountId: 'acme', limit: 1000 });
    expect(
      rows.some((r) => r.action === 'user.password_set' && r.target === 'user:editor@client-a.example'),
    ).toBe(true);
  });

  it('uses a sign-in link once', async () => {
    const link = await linkFor(f, 'client-b/admin', 'login', '/usage?month=2026-10');
    const first = await fetch(link, { redirect: 'manual' });
    expect([first.status, first.headers.get('location')]).toEqual([303, '/usage?month=2026-10']);
    const second = await fetch(link, { redirect: 'manual' });
    expect(second.status).toBe(404);
    expect(await second.text()).toContain('has been used already, has expired, or was never issued');
  });

  it('sends every page with a CSP that allows no script and no inline style', async () => {
    const res = await f.page('acme/admin', '/usage?month=2026-10');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(res.html).not.toMatch(/<script|\sstyle="|\son[a-z]+="/i);
  });

  it('answers an unknown page with a page, and the API with JSON', async () => {
    const page = await f.page('acme/admin', '/nowhere');
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await fetch(`${f.url}/api/v1/nowhere`);
    expect(api.headers.get('content-type')).toContain('application/json');
  });
});
