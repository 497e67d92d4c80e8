import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../infra/config';
import { shareDashboard } from '../../queries/shares';
import { scopeOf } from '../../queries/scope';
import { API_NOW } from '../support/api';
import { launchBrowser } from '../support/browser';
import { consoleFixture, linkFor, type ConsoleFixture } from '../support/console';

/**
 * Every page of the console in Chromium, as the user it is for sees it: its accessibility tree
 * (`ariaSnapshot`, the page as a screen reader reads it) and its charts' SVG, each against a golden file under
 * test/golden/console/. ECharts' server-side output is deterministic, so a changed byte is a changed chart.
 * UPDATE_GOLDEN=1 rewrites the files (review the diff). The README's screenshots are of the demo's data
 * (`npm run screenshots`); ORGTALLY_SCREENSHOTS=1 writes this fixture's pages to out/screenshots/.
 */
const GOLDEN = path.join(PROJECT_ROOT, 'test', 'golden', 'console');
const SHOTS = path.join(PROJECT_ROOT, 'out', 'screenshots');
const update = process.env.UPDATE_GOLDEN === '1';
const screenshots = process.env.ORGTALLY_SCREENSHOTS === '1';

// Access first: its audit log lists the sign-ins of the pages before it.
export const PAGES_SEEN = [
  { name: 'access', user: 'acme/admin', path: '/access' },
  { name: 'usage', user: 'acme/admin', path: '/usage?month=2026-10' },
  { name: 'usage-child', user: 'client-a/admin', path: '/usage?month=2026-10' },
  { name: 'cost', user: 'acme/finance', path: '/cost?month=2026-11' },
  { name: 'estimates', user: 'acme/admin', path: '/estimates' },
  { name: 'attribution', user: 'acme/admin', path: '/attribution?month=2026-10' },
  { name: 'alerts', user: 'acme/admin', path: '/alerts' },
  { name: 'reports', user: 'acme/admin', path: '/reports?month=2026-10' },
  { name: 'shares', user: 'acme/admin', path: '/shares' },
  // No user: client A's shared dashboard, opened from its link alone.
  { name: 'shared', user: 'viewer', path: '/shared/<token>?tz=Europe/Paris' },
] as const;

let f: ConsoleFixture;
let browser: Browser;
let token: string;
beforeAll(async () => {
  [f, browser] = await Promise.all([consoleFixture(), launchBrowser()]);
  const scope = await scopeOf(f.db, 'acme');
  token = (
    await shareDashboard(f.db, scope, { org: 'client-a', locks: { team: 'web' }, showCost: true }, API_NOW)
  ).token;
  await shareDashboard(
    f.db,
    scope,
    { org: 'client-b', title: 'Client B for its CFO', invitees: [{ email: 'cfo@client-b.example' }] },
    API_NOW,
  );
  fs.mkdirSync(GOLDEN, { recursive: true });
  if (screenshots) fs.mkdirSync(SHOTS, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await f?.close();
});

/** What differs between two correct runs: instants, ids, one-time secrets. */
const stable = (s: string) =>
  s
    .replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/g, '<instant>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, '<instant>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>')
    .replace(/\bot[klas]_[\w-]{8,}/g, '<secret>')
    .replace(/\bot[klas]_…[\w-]{4}/g, '<key hint>');

function golden(file: string, actual: string): void {
  const at = path.join(GOLDEN, file);
  if (update || !fs.existsSync(at)) {
    if (!update) throw new Error(`no golden file ${at}: run with UPDATE_GOLDEN=1 and review it`);
    fs.writeFileSync(at, actual);
    return;
  }
  expect(`${file}\n${actual}`).toBe(`${file}\n${fs.readFileSync(at, 'utf8')}`);
}

async function open(user: string, url: string, width: number): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await ctx.newPage();
  const res = await page.goto(
    user === 'viewer' ? `${f.url}${url.replace('<token>', token)}` : await linkFor(f, user, 'login', url),
  );
  expect(`${url} ${res?.status()}`).toBe(`${url} 200`);
  return page;
}

describe.each(PAGES_SEEN)('the $name page', ({ name, user, path: url }) => {
  it('reads as its golden accessibility tree, with its charts as their golden SVG', async () => {
    const page = await open(user, url, 1280);
    try {
      golden(`${name}.aria.yml`, `${stable(await page.locator('main').ariaSnapshot())}\n`);
      const figures = await page
        .locator('figure.chart-figure')
        .evaluateAll((els) => els.map((e) => ({ id: e.id, svg: e.querySelector('svg')?.outerHTML ?? '' })));
      for (const fig of figures) golden(`${name}.${fig.id}.svg`, `${fig.svg}\n`);
      if (screenshots) await page.screenshot({ path: path.join(SHOTS, `${name}-1280.png`), fullPage: true });
    } finally {
      await page.context().close();
    }
  });

  it('fits a 390 px wide phone without the page scrolling sideways', async () => {
    const page = await open(user, url, 390);
    try {
      // A string, evaluated in the page: this file is compiled without the DOM's types.
      const overflow = Number(
        await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
      );
      // The elements that stick out (tables scroll inside their own box, which is allowed).
      const wide = await page.evaluate(`[...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap > *, .chart-table > *, .chart > *'))
        .slice(0, 5).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`);
      expect({ overflow: Math.max(0, overflow), wide: overflow > 0 ? wide : [] }).toEqual({
        overflow: 0,
        wide: [],
      });
      if (screenshots) await page.screenshot({ path: path.join(SHOTS, `${name}-390.png`), fullPage: true });
    } finally {
      await page.context().close();
    }
  });
});
