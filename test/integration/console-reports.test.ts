import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ingestStream } from '../../activities/ingest-file';
import { renderVersion, versionDir } from '../../activities/month-end';
import { attributeDay } from '../../db/attribution';
import { planDeliveries, sendOnce } from '../../db/deliveries';
import { closeMonth } from '../../db/month-end';
import { findVersion } from '../../db/month-end-report';
import { monthDays } from '../../db/month-period';
import { formatNumber, monthEndFileNames } from '../../domain/month-end-report';
import { escape } from '../../web/html';
import { consoleFixture, type ConsoleFixture } from '../support/console';
import { rec, tempDir, TEST_AS_OF } from '../support/fixtures';

/**
 * October 2026 is closed (v1) by the fixture; here its mail is rendered and sent (one recipient refused), then
 * late data restates it as v2, so the page has a restated version, changes, a ledger and files on disk.
 */
let f: ConsoleFixture;
let out: string;
const ref = { accountId: 'acme', month: '2026-10', version: 1 };
beforeAll(async () => {
  f = await consoleFixture();
  out = tempDir('console-reports');
  const r = await renderVersion(f.db, out, ref);
  const rows = await planDeliveries(
    f.db,
    ['cfo@acme.example', 'finance@acme.example'].map((recipient) => ({
      dedupeKey: `month-end/acme/2026-10/v1/${recipient}`,
      kind: 'month_end' as const,
      accountId: 'acme',
      reference: { month: '2026-10', version: 1 },
      recipient,
    })),
    'orgtally.test',
  );
  for (const d of rows)
    await sendOnce(f.db, d.id, async () => ({
      subject: r.subject,
      transmit: async () => {
        if (d.recipient.startsWith('cfo'))
          throw Object.assign(new Error('550 mailbox unavailable'), { permanent: true });
        return { response: '250 2.0.0 queued' };
      },
    }));
  await ingestStream(f.db, {
    source: 'late.ndjson',
    stream: Readable.from([`${rec('2026-10-20T05:00:00Z', 'client-b', 'logs_indexed_events', '7.5', [])}\n`]),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
  });
  for (const day of (await monthDays(f.db, 'acme', '2026-10')).toAttribute)
    await attributeDay(f.db, { accountId: 'acme', day });
  const closed = await closeMonth(f.db, {
    accountId: 'acme',
    month: '2026-10',
    asOf: '2026-11-19T00:00:00Z',
  });
  if (closed.outcome !== 'created') throw new Error(`October was not restated: ${closed.outcome}`);
}, 120_000);
afterAll(async () => {
  await f?.close();
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

const section = (html: string, id: string) =>
  new RegExp(`<section id="${id}"[\\s\\S]*?</section>`).exec(html)?.[0] ?? '';

describe('the Reports page', () => {
  it('lists the versions of the latest closed month: restated, final, with their watermark', async () => {
    const { status, html } = await f.page('acme/admin', '/reports');
    expect(status).toBe(200);
    expect(html).toContain('Reports: October 2026');
    const table = /<table id="versions">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    const v1 = await findVersion(f.db, 'acme', '2026-10', 1);
    const v2 = await findVersion(f.db, 'acme', '2026-10', 2);
    expect(table).toMatch(/v1<\/a>\s*<\/th>\s*<td><span class="status-restated">restated<\/span>/);
    expect(table).toMatch(new RegExp(`v2</a>\\s*</th>\\s*<td><span class="status-${v2?.status}">`));
    for (const v of [v1, v2]) {
      expect(table).toContain(`${v?.data_complete_through.slice(0, 16).replace('T', ' ')} UTC`);
      expect(table).toContain(`<td>${v?.facts_watermark}</td>`);
    }
    // the picker lists the closed months only
    const picker = /<select id="month"[\s\S]*?<\/select>/.exec(html)?.[0] ?? '';
    expect(picker).toContain('value="2026-10"');
    expect(picker).toContain('value="2026-09"');
    expect(picker).not.toContain('value="2026-11"');
  });

  it('shows what changed between the versions, from the stored changes', async () => {
    const { html } = await f.page('acme/admin', '/reports?month=2026-10');
    const v2 = await findVersion(f.db, 'acme', '2026-10', 2);
    expect(v2?.changes.length).toBeGreaterThan(0);
    const table = /<table id="v2-changes">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    const rows = [
      ...table.matchAll(
        /<tr>\s*<th scope="row">([^<]+)<\/th>\s*<td>([^<]+)<\/td>\s*<td>([^<]+)<\/td>\s*<td class="num">([^<]+)<\/td>\s*<td class="num">([^<]+)<\/td>/g,
      ),
    ];
    expect(rows.length).toBe(v2?.changes.length);
    v2?.changes.forEach((c, i) => {
      const money = c.field.endsWith('_cost');
      const shown = (x: string) => (money ? `USD ${formatNumber(x, 2)}` : formatNumber(x));
      expect(rows[i]?.slice(1)).toEqual([
        c.usage_type,
        c.public_id ?? 'account',
        c.field,
        shown(c.from),
        shown(c.to),
      ]);
    });
  });

  it('shows the mail as it was sent: subject, recipients, status, attempts and the text', async () => {
    const { html } = await f.page('acme/admin', '/reports?month=2026-10');
    const v1 = section(html, 'v1');
    const render = await f.db('month_end_renders').where({ account_id: 'acme', version: 1 }).first();
    expect(v1).toContain(`Subject: <strong>${escape(render.subject)}</strong>`);
    expect(v1).toContain(`<pre class="mail">${escape(render.text)}</pre>`);
    const ledger = await f
      .db('deliveries')
      .where({ account_id: 'acme', kind: 'month_end' })
      .orderBy('recipient');
    expect(ledger.map((d) => d.status)).toEqual(['failed', 'sent']);
    for (const d of ledger)
      expect(v1).toMatch(
        new RegExp(
          `${d.recipient}</th>\\s*<td><span class="status-${d.status}">${d.status}</span></td>\\s*<td class="num">\\s*${d.attempts}`,
        ),
      );
    expect(v1).toContain('550 mailbox unavailable');
    // v2 was closed without the mail step: said so, nothing invented
    expect(section(html, 'v2')).toContain('No mail was made for this version');
  });

  it('serves every file of a version, the same bytes as the files the close wrote', async () => {
    const { html } = await f.page('acme/admin', '/reports?month=2026-10');
    const v1 = await findVersion(f.db, 'acme', '2026-10', 1);
    const names = monthEndFileNames('acme', '2026-10', 1, v1?.tag_keys ?? []);
    const all = [names.byOrg, names.byTag, ...names.summaries];
    for (const name of all) {
      expect(section(html, 'v1')).toContain(`href="/reports/2026-10/v/1/files/${name}"`);
      const res = await fetch(`${f.url}/reports/2026-10/v/1/files/${name}`, {
        headers: { cookie: await f.signIn('acme/admin') },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${name}"`);
      const disk = fs.readFileSync(path.join(versionDir(out, ref), name));
      expect(Buffer.from(await res.arrayBuffer()).equals(disk)).toBe(true);
    }
  });

  it('keeps money from a user without billing_read: no mail, no cost files, no cost changes', async () => {
    const { status, html } = await f.page('acme/editor', '/reports?month=2026-10');
    expect(status).toBe(200);
    expect(html).not.toContain('<pre class="mail">');
    expect(html).not.toContain('_by_org.csv');
    expect(html).not.toContain('USD');
    expect(html).toContain('summary_team_2026-10_v1.tsv');
    const cookie = await f.signIn('acme/editor');
    const get = (p: string) => fetch(`${f.url}${p}`, { headers: { cookie } });
    expect((await get('/reports/2026-10/v/1/files/month_end_acme_2026-10_v1_by_org.csv')).status).toBe(404);
    expect((await get('/reports/2026-10/v/1/files/summary_team_2026-10_v1.tsv')).status).toBe(200);
  });

  it('is a 404 below the root org and without usage_read', async () => {
    for (const user of ['client-a/admin', 'client-a/finance', 'acme/standard', 'acme/notify'])
      expect((await f.page(user, '/reports?month=2026-10')).status).toBe(404);
    expect(
      (await f.page('client-a/admin', '/reports/2026-10/v/1/files/summary_team_2026-10_v1.tsv')).status,
    ).toBe(404);
  });

  it('refuses a bad month or version with a 400 naming it, an unknown version or file with a 404', async () => {
    const m = await f.page('acme/admin', '/reports?month=2026-13');
    expect(m.status).toBe(400);
    expect(m.html).toContain('month: &quot;2026-13&quot; is not a month');
    const v = await f.page('acme/admin', '/reports/2026-10/v/x/files/summary_team_2026-10_v1.tsv');
    expect(v.status).toBe(400);
    expect(v.html).toContain('version: &quot;x&quot; is not a version number');
    expect(
      (await f.page('acme/admin', '/reports/2026-10/v/9/files/summary_team_2026-10_v1.tsv')).status,
    ).toBe(404);
    expect((await f.page('acme/admin', '/reports/2026-10/v/1/files/nope.csv')).status).toBe(404);
    const open = await f.page('acme/admin', '/reports?month=2026-08');
    expect(open.status).toBe(200);
    expect(open.html).toContain('August 2026 has not been closed');
  });
});
