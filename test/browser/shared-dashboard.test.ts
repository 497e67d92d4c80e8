import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { simpleParser } from 'mailparser';
import { formatNumber } from '../../domain/month-end-report';
import { add, dec, text, ZERO } from '../../domain/exact';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import { changeShare, revokeSharedDashboard, shareDashboard } from '../../queries/shares';
import { scopeOf } from '../../queries/scope';
import { monthFigures } from '../../queries/summary';
import { API_NOW } from '../support/api';
import { launchBrowser } from '../support/browser';
import { consoleFixture, mailTo, type ConsoleFixture } from '../support/console';

/** A shared dashboard as a client opens it: a real Chromium, no account, only the link. */
let f: ConsoleFixture;
let sink: MailSink;
let browser: Browser;
const contexts: BrowserContext[] = [];
const SHOTS = process.env.ORGTALLY_SCREENSHOTS ? path.resolve('out', 'screenshots') : undefined;

beforeAll(async () => {
  sink = await startMailSink();
  [f, browser] = await Promise.all([
    consoleFixture({ console: { mail: { url: sink.url, from: 'orgtally <orgtally@acme.example>' } } }),
    launchBrowser(),
  ]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await f?.close();
  await sink?.close();
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});

async function fresh(width = 1280): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height: 900 }, timezoneId: 'Europe/Paris' });
  contexts.push(ctx);
  return ctx.newPage();
}
const operator = () => scopeOf(f.db, 'acme');
const share = async (r: Parameters<typeof shareDashboard>[2]) =>
  shareDashboard(f.db, await operator(), r, API_NOW);
const h1 = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();
const NEUTRAL = 'This link does not open a dashboard';
const SIBLINGS = ['Client B', 'client-b', 'Client C', 'client-c', 'Trial X', 'trial-x'];

describe('a shared dashboard in a browser', () => {
  it("shows the org's month-end and estimate figures, and nothing of a sibling whatever the URL says", async () => {
    const { token } = await share({ org: 'client-a', title: 'Client A — usage' });
    const page = await fresh();
    const res = await page.goto(`${f.url}/shared/${token}`);
    expect(res?.status()).toBe(200);
    expect(await h1(page)).toBe('Client A — usage');

    const figures = await monthFigures(f.db, await operator(), {
      month: '2026-11',
      asOf: new Date(API_NOW).toISOString(),
    });
    const { rows: est } = await f.db.raw(
      `SELECT usage_type, sum(projected_usage)::text AS projected FROM estimate_orgs
        WHERE account_id = 'acme' AND as_of = (SELECT max(as_of) FROM estimate_runs)
          AND public_id IN ('client-a', 'client-a-eu') GROUP BY 1`,
    );
    for (const e of est as { usage_type: string; projected: string }[]) {
      const usage = figures.orgs
        .filter((r) => r.usage_type === e.usage_type && r.public_id.startsWith('client-a'))
        .map((r) => dec(r.billable_usage))
        .reduce(add, ZERO);
      const cells = await page
        .locator('#month-table tbody tr', {
          has: page.locator('th', { hasText: new RegExp(`^${e.usage_type}$`) }),
        })
        .locator('td')
        .allTextContents();
      expect([e.usage_type, cells[1], cells[2]]).toEqual([
        e.usage_type,
        formatNumber(text(usage)),
        formatNumber(e.projected),
      ]);
    }
    // Times are in the zone the viewer picks (the account's by default).
    await page.getByLabel('Time zone').fill('Europe/Paris');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect(page.locator('#complete-through').textContent()).resolves.toMatch(/CET|GMT\+1/);
    if (SHOTS) {
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, 'shared-1280.png'), fullPage: true });
    }
    const body = (await page.content()).toString();
    for (const s of SIBLINGS) expect(body).not.toContain(s);

    for (const tampered of [`?org=client-b`, `?org=acme`, `/client-b`, `?org=client-a&org=client-b`]) {
      const r = await page.goto(`${f.url}/shared/${token}${tampered}`);
      const shown = await page.content();
      for (const s of SIBLINGS) expect([tampered, shown.includes(s)]).toEqual([tampered, false]);
      expect([tampered, r?.status()]).toEqual([tampered, tampered.includes('&') ? 400 : 404]);
    }
  });

  it('pause → neutral page → resume; revoke while the page is open → the next load is the neutral page', async () => {
    const { token, share: s } = await share({ org: 'client-a' });
    const page = await fresh();
    await page.goto(`${f.url}/shared/${token}`);
    await expect(page.locator('#month-table').count()).resolves.toBe(1);
    const scope = await operator();
    await changeShare(f.db, scope, s.id, { status: 'paused' }, API_NOW);
    expect((await page.reload())?.status()).toBe(404);
    expect(await h1(page)).toBe(NEUTRAL);
    await changeShare(f.db, scope, s.id, { status: 'active' }, API_NOW);
    expect((await page.reload())?.status()).toBe(200);
    await revokeSharedDashboard(f.db, scope, s.id);
    expect((await page.reload())?.status()).toBe(404);
    expect(await h1(page)).toBe(NEUTRAL);
    await expect(page.locator('#month-table').count()).resolves.toBe(0);
  });

  it('an expired link is the neutral page', async () => {
    const { token, share: s } = await share({ org: 'client-a-eu' });
    await f
      .db('shares')
      .where({ id: s.id })
      .update({ expires_at: new Date(Date.now() - 60_000) });
    const page = await fresh();
    expect((await page.goto(`${f.url}/shared/${token}`))?.status()).toBe(404);
    expect(await h1(page)).toBe(NEUTRAL);
  });

  it('an invite-only link shows nothing without the code, and the dashboard after it', async () => {
    const { token } = await share({ org: 'client-a', invitees: [{ email: 'cfo@client-a.example' }] });
    const page = await fresh(390);
    await page.goto(`${f.url}/shared/${token}`);
    await expect(page.locator('#month-table').count()).resolves.toBe(0);
    await expect(page.locator('table').count()).resolves.toBe(0);
    await page.getByLabel('E-mail address').fill('cfo@client-a.example');
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await expect(page.locator('#month-table').count()).resolves.toBe(0);
    const raw = (await mailTo(sink.messages, 'cfo@client-a.example'))[0]?.raw as Buffer;
    const code = /^\s+(\d{8})$/m.exec((await simpleParser(raw)).text ?? '')?.[1] as string;
    await page.getByLabel('Code').fill(code);
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.waitForURL(`**/shared/${token}`);
    await expect(page.locator('#month-table').count()).resolves.toBe(1);
    // At 390 px the page scrolls down, never sideways.
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow).toBeLessThanOrEqual(0);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'shared-390.png'), fullPage: true });
  });
});
