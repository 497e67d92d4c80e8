import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { issueLink } from '../db/login-tokens';
import { PROJECT_ROOT } from '../infra/config';
import { revokeSharedDashboard, shareDashboard } from '../queries/shares';
import { scopeOf } from '../queries/scope';
import { withDb } from './context';
import { launchBrowser } from './lib/browser';

/**
 * `npm run screenshots [-- --url http://127.0.0.1:8080]`: every console page (and client A's shared dashboard) at
 * 1280 px and 390 px wide, as the
 * demo's users see them, into docs/screenshots/. Run it against the demo's data with the console up
 * (`npm run demo -- --keep`); each page is opened with a fresh one-time sign-in link of its user.
 */
const PAGES = [
  { name: 'usage', email: 'admin@acme.example', path: '/usage' },
  { name: 'usage-child', email: 'admin@client-a.example', path: '/usage' },
  { name: 'cost', email: 'finance-team@acme.example', path: '/cost' },
  { name: 'estimates', email: 'admin@acme.example', path: '/estimates' },
  { name: 'attribution', email: 'admin@acme.example', path: '/attribution' },
  { name: 'alerts', email: 'admin@acme.example', path: '/alerts' },
  { name: 'reports', email: 'admin@acme.example', path: '/reports' },
  { name: 'shares', email: 'admin@acme.example', path: '/shares' },
  { name: 'access', email: 'admin@acme.example', path: '/access' },
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { url: { type: 'string', default: 'http://127.0.0.1:8080' } } });
  const base = (values.url as string).replace(/\/+$/, '');
  const out = path.join(PROJECT_ROOT, 'docs', 'screenshots');
  fs.mkdirSync(out, { recursive: true });
  const browser = await launchBrowser();
  try {
    await withDb(async (db) => {
      for (const p of PAGES)
        for (const width of [1280, 390]) {
          const link = await db.transaction((trx) =>
            issueLink(trx, {
              accountId: 'acme',
              email: p.email,
              kind: 'login',
              next: p.path,
              ttlMs: 60_000,
              actor: 'cli:screenshots',
            }),
          );
          const ctx = await browser.newContext({ viewport: { width, height: 900 } });
          const page = await ctx.newPage();
          const res = await page.goto(`${base}/login/${link.token}`);
          if (res?.status() !== 200)
            throw new Error(`${p.path} as ${p.email}: ${res?.status()} (is the console up at ${base}?)`);
          const file = path.join(out, `${p.name}-${width}.png`);
          await page.screenshot({ path: file, fullPage: true });
          await ctx.close();
          process.stdout.write(`${path.relative(PROJECT_ROOT, file)}\n`);
        }
      // The shared dashboard as client A's people open it: a share made for the photo and revoked after it.
      const scope = await scopeOf(db, 'acme', 'acme', {
        permissions: (await scopeOf(db, 'acme')).permissions,
        actor: 'cli:screenshots',
      });
      const { share, token } = await shareDashboard(
        db,
        scope,
        { org: 'client-a', title: 'Client A — usage', showCost: true },
        Date.now(),
      );
      try {
        for (const width of [1280, 390]) {
          const ctx = await browser.newContext({ viewport: { width, height: 900 } });
          const page = await ctx.newPage();
          const res = await page.goto(`${base}/shared/${token}`);
          if (res?.status() !== 200) throw new Error(`the shared dashboard: ${res?.status()}`);
          const file = path.join(out, `shared-${width}.png`);
          await page.screenshot({ path: file, fullPage: true });
          await ctx.close();
          process.stdout.write(`${path.relative(PROJECT_ROOT, file)}\n`);
        }
      } finally {
        await revokeSharedDashboard(db, scope, share.id);
      }
    });
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(`screenshots failed: ${(err as Error).message}`);
  process.exit(1);
});
