import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Browser } from 'playwright-core';
import { money } from '../../domain/money';
import { CHART_CID } from '../../domain/month-end-mail';
import { PROJECT_ROOT } from '../../infra/config';
import { launchBrowser } from '../support/browser';
import { cloneTestDatabase } from '../support/db';
import { tempDir } from '../support/fixtures';
import { MAIL_KINDS, mailScenario, renderKind, type MailKind } from '../support/month-end-mails';

/**
 * Each kind of finance mail as a reader's client shows it, in Chromium at 800 and 400 px: what finance needs first
 * (the amount, its currency, the status) is on the first screen (600 px), nothing scrolls sideways, and the
 * screenshots under docs/screenshots/ are these renders (the inline chart as the client shows it).
 */
let db: Knex;
let drop: () => Promise<void>;
let outputDir: string;
let browser: Browser;
const SHOTS = path.join(PROJECT_ROOT, 'docs', 'screenshots');
const pages = tempDir('mail-pages-');

beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  [{ outputDir }, browser] = await Promise.all([mailScenario(db), launchBrowser()]);
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await db?.destroy();
  await drop?.();
});

const KINDS = Object.keys(MAIL_KINDS) as MailKind[];

describe.each(KINDS)('the %s month-end mail in Chromium', (kind) => {
  it.each([800, 400])(
    'at %i px: amount, currency and status in the first 600 px; no sideways scroll',
    async (width) => {
      const r = await renderKind(db, outputDir, kind);
      const { rows } = await db.raw(
        `SELECT sum(total_cost)::text AS t FROM month_end_totals WHERE account_id = 'acme' AND month = ? AND version = ?`,
        [`${MAIL_KINDS[kind].month}-01`, MAIL_KINDS[kind].version],
      );
      const file = path.join(pages, `${kind}.html`);
      // The client shows the inline part where the HTML says cid:…; a data URL is the same bytes for the browser.
      const png = r.chart_png ? `data:image/png;base64,${r.chart_png.toString('base64')}` : '';
      fs.writeFileSync(file, r.html.replace(`cid:${CHART_CID}`, png));
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      try {
        await page.goto(`file://${file}`);
        const bottom = async (text: string) => {
          const box = await page.getByText(text, { exact: false }).first().boundingBox();
          return box ? box.y + box.height : Infinity;
        };
        expect(await bottom(money(rows[0].t, 'USD'))).toBeLessThanOrEqual(600);
        expect(await bottom(kind === 'provisional' ? 'PROVISIONAL' : 'FINAL')).toBeLessThanOrEqual(600);
        if (kind === 'restated') expect(await bottom('RESTATED')).toBeLessThanOrEqual(600);
        expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(
          width,
        );
        if (r.chart_png) {
          const img = await page.locator('img').first().boundingBox();
          expect(img?.width).toBeGreaterThan(300);
        }
        const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
        await page.screenshot({
          path: path.join(SHOTS, `mail-month-end-${kind}-${width}.png`),
          clip: { x: 0, y: 0, width, height: Math.min(height, 1600) },
        });
      } finally {
        await page.close();
      }
    },
  );
});
