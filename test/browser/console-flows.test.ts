import fs from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { removeUser } from '../../db/access';
import { attributeDay } from '../../db/attribution';
import { findVersion, totals } from '../../db/month-end-report';
import { formatNumber } from '../../domain/month-end-report';
import { USERS } from '../support/api';
import { launchBrowser } from '../support/browser';
import { consoleFixture, linkFor, type ConsoleFixture } from '../support/console';

/** The console as its users meet it, in a real Chromium: every request goes over HTTP to the real server. */
let f: ConsoleFixture;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [f, browser] = await Promise.all([consoleFixture(), launchBrowser()]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await f?.close();
});

async function fresh(): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(ctx);
  return ctx.newPage();
}
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});

async function signedIn(user: string, next = '/'): Promise<Page> {
  const page = await fresh();
  await page.goto(await linkFor(f, user, 'login', next));
  return page;
}

const navLabels = (page: Page) => page.locator('nav[aria-label="Console"] a').allTextContents();

describe('the console in a browser', () => {
  it('takes an invited user from the link to its password, and signs it in to the Usage figures of the close', async () => {
    const page = await fresh();
    await page.goto(await linkFor(f, 'acme/admin', 'invite', '/usage?month=2026-10'));
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Set your password');
    // (A short one never leaves the browser: the field's minlength holds it back.)
    await page.getByLabel('New password').fill('correct horse battery');
    await page.getByLabel('The same password again').fill('correct horse battery stable');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not the same');

    const password = 'correct horse battery staple';
    await page.getByLabel('New password').fill(password);
    await page.getByLabel('The same password again').fill(password);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL('**/usage?month=2026-10');

    const v = await findVersion(f.db, 'acme', '2026-10');
    const rows = await totals(f.db, v!);
    expect(rows.length).toBeGreaterThan(0);
    for (const t of rows) {
      const cells = await page
        .locator('#products tbody tr', { hasText: t.usage_type })
        .locator('td')
        .allTextContents();
      expect(cells[1]).toBe(formatNumber(t.billable_usage));
      // A product without a price (both prices 0) says so; a priced one shows its cost, currency code first.
      const priced = !/^0(\.0*)?$/.test(t.committed_price) || !/^0(\.0*)?$/.test(t.on_demand_price);
      expect([t.usage_type, cells[4]]).toEqual([
        t.usage_type,
        priced ? `USD ${formatNumber(t.total_cost, 2)}` : 'not priced',
      ]);
    }

    // Signed out, the page sends the browser to the sign-in form and back after it.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Signed out');
    await page.goto(`${f.url}/usage?month=2026-10`);
    expect(page.url()).toContain('/sign-in?next=');
    await page.getByLabel('E-mail address').fill(USERS['acme/admin']!.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not right');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/usage?month=2026-10');

    // The invitation worked once.
    const again = await fetch(page.url().replace(/\/usage.*/, '/invite/x'));
    expect(again.status).toBe(404);
  });

  it("keeps a child org's admin inside its subtree: navigation, hand-edited URLs and downloads", async () => {
    const page = await signedIn('client-a/admin', '/usage?month=2026-10');
    expect(await navLabels(page)).not.toContain('Cost');
    expect(await navLabels(page)).not.toContain('Reports');
    for (const label of await navLabels(page)) {
      await page.locator('nav[aria-label="Console"]').getByRole('link', { name: label }).click();
      const text = (await page.locator('main').textContent()) ?? '';
      for (const sibling of ['client-b', 'client-c', 'trial-x'])
        expect(`${label}: ${text}`).not.toContain(sibling);
    }
    for (const url of [
      '/usage?org=client-b',
      '/usage?month=2026-10&org=acme',
      '/cost',
      '/reports?month=2026-10',
      '/reports/2026-10/v/1/files/summary.csv',
    ]) {
      const res = await page.goto(`${f.url}${url}`);
      expect(`${url} ${res?.status()}`).toBe(`${url} 404`);
    }
  });

  it('shows a finance user Cost but not Access', async () => {
    const page = await signedIn('acme/finance', '/cost');
    expect(await navLabels(page)).toContain('Cost');
    expect(await navLabels(page)).not.toContain('Access');
    expect((await page.goto(`${f.url}/access`))?.status()).toBe(404);
  });

  it('refuses a form that lost its CSRF token, and the session stays', async () => {
    const page = await signedIn('acme/read_only', '/');
    await page.locator('form[action="/sign-out"] input[name="csrf"]').evaluate((el) => el.remove());
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/sign-out')),
      page.getByRole('button', { name: 'Sign out' }).click(),
    ]);
    expect(res.status()).toBe(403);
    expect(await page.locator('main').textContent()).toContain('security token');
    await page.goto(`${f.url}/`);
    expect(page.url()).not.toContain('/sign-in');
  });

  it("ends a removed user's session on its next page", async () => {
    const page = await signedIn('client-b/admin', '/usage');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Usage of Client B');
    await f.db.transaction((trx) =>
      removeUser(trx, { accountId: 'acme', email: USERS['client-b/admin']!.email, actor: 'test' }),
    );
    await page.reload();
    expect(page.url()).toContain('/sign-in');
  });

  it('changes the tag keys through the form, and the next attribution splits by the new keys', async () => {
    const page = await signedIn('acme/editor', '/attribution?month=2026-11');
    await page.getByLabel('Tag keys', { exact: true }).fill('team, env');
    await page.getByLabel('Effective from').fill('2026-11-18');
    await page.getByRole('button', { name: 'Preview' }).click();
    // The preview changes nothing yet.
    expect(
      await f
        .db('audit_log')
        .where({ action: 'spec.apply', actor: 'user:editor@acme.example' })
        .count({ n: '*' }),
    ).toEqual([{ n: '0' }]);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL('**/attribution?**');
    expect(
      await f
        .db('audit_log')
        .where({ action: 'spec.apply', actor: 'user:editor@acme.example' })
        .count({ n: '*' }),
    ).toEqual([{ n: '1' }]);

    await attributeDay(f.db, { accountId: 'acme', day: '2026-11-18' });
    await page.goto(`${f.url}/attribution?month=2026-11`);
    const row = page.locator('tr', { has: page.getByRole('rowheader', { name: '2026-11-18' }) });
    expect(await row.locator('td').first().textContent()).toBe('team, env');
    const download = page.waitForEvent('download');
    await row.getByRole('link', { name: 'infra_hosts' }).click();
    const file = await (await download).path();
    const header = fs.readFileSync(file, 'utf8').split('\n')[0];
    expect(header).toContain('team');
    expect(header).not.toContain('service');
  });
});
