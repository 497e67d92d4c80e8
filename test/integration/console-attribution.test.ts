import fs from 'node:fs';
import path from 'node:path';
import { exportDay } from '../../db/attribution-files';
import { tagMonthRows, tagMonthTotals } from '../../db/tag-months';
import { formatNumber } from '../../domain/month-end-report';
import { consoleFixture, type ConsoleFixture } from '../support/console';
import { tempDir } from '../support/fixtures';

let f: ConsoleFixture;
beforeAll(async () => {
  f = await consoleFixture();
}, 120_000);
afterAll(() => f?.close());

const tagKeyRows = () =>
  f.db('attribution_tag_keys').where({ account_id: 'acme' }).orderBy('effective_from').select('tag_keys');
const specAudits = () =>
  f
    .db('audit_log')
    .where({ account_id: 'acme', action: 'spec.apply' })
    .orderBy('id')
    .select('actor', 'after');

describe('the Attribution page: tag keys', () => {
  it('shows the keys in effect and their history', async () => {
    const { status, html } = await f.page('acme/admin', '/attribution');
    expect(status).toBe(200);
    const history = await tagKeyRows();
    expect(history).toHaveLength(1);
    const table = /<table id="tag-key-history">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    for (const k of history[0].tag_keys as string[]) expect(table).toContain(`<span class="tag">${k}</span>`);
    expect(table).toContain('the beginning');
    expect(table).toContain('in effect');
  });

  it('shows the form to the root org with usage_edit only', async () => {
    for (const user of ['acme/admin', 'acme/editor'])
      expect((await f.page(user, '/attribution')).html).toContain('action="/attribution/tag-keys"');
    for (const user of ['acme/finance', 'client-a/editor', 'client-a/admin'])
      expect((await f.page(user, '/attribution')).html).not.toContain('action="/attribution/tag-keys"');
  });

  it('is a 404 for a user without usage_read, and refuses the form to a child org (404)', async () => {
    expect((await f.page('acme/standard', '/attribution')).status).toBe(404);
    expect((await f.page('acme/notify', '/attribution')).status).toBe(404);
    const cookie = await f.signIn('client-a/editor');
    const csrf = f.csrfOf((await f.page('client-a/editor', '/attribution')).html);
    const r = await f.post(cookie, '/attribution/tag-keys', {
      csrf,
      tag_keys: 'team',
      effective_from: '2026-12-01',
      intent: 'save',
    });
    expect(r.status).toBe(404);
    expect(await tagKeyRows()).toHaveLength(1);
  });

  it('previews a change with what it would restate, and saves nothing', async () => {
    const cookie = await f.signIn('acme/editor');
    const csrf = f.csrfOf((await f.page('acme/editor', '/attribution')).html);
    const before = (await specAudits()).length;
    const r = await f.post(cookie, '/attribution/tag-keys', {
      csrf,
      tag_keys: 'team, env',
      effective_from: '2026-10-01',
      intent: 'preview',
    });
    expect(r.status).toBe(200);
    expect(r.html).toContain('Preview: nothing is saved yet');
    expect(r.html).toContain('attribution tag keys: [team, env] from 2026-10-01');
    // The days the change covers that were attributed with other keys, per month, from the runs themselves.
    const runs = await f.db.raw(
      `SELECT to_char(day, 'YYYY-MM') AS month, count(*)::int AS n FROM attribution_runs
        WHERE account_id = 'acme' AND day >= '2026-10-01' AND tag_keys <> ARRAY['team','env']::text[]
        GROUP BY 1 ORDER BY 1`,
    );
    expect(runs.rows.length).toBe(2);
    const table = /<table id="restatement">[\s\S]*?<\/table>/.exec(r.html)?.[0] ?? '';
    for (const m of runs.rows as { month: string; n: number }[])
      expect(table).toMatch(
        new RegExp(
          `${m.month === '2026-10' ? 'October' : 'November'} 2026</th>\\s*<td class="num">${m.n}</td>`,
        ),
      );
    expect(table).toContain('restated as v2');
    expect(table).not.toContain('September');
    // Save carries the same values.
    expect(r.html).toMatch(/<input type="hidden" name="tag_keys" value="team, env" \/>/);
    expect(r.html).toMatch(/<input type="hidden" name="effective_from" value="2026-10-01" \/>/);
    expect(r.html).toMatch(/name="intent" value="save">Save<\/button>/);
    expect(await tagKeyRows()).toHaveLength(1);
    expect((await specAudits()).length).toBe(before);
  });

  it('warns when a change would leave a month with two key lists', async () => {
    const cookie = await f.signIn('acme/editor');
    const csrf = f.csrfOf((await f.page('acme/editor', '/attribution')).html);
    const r = await f.post(cookie, '/attribution/tag-keys', {
      csrf,
      tag_keys: 'team',
      effective_from: '2026-11-10',
      intent: 'preview',
    });
    expect(r.status).toBe(200);
    expect(r.html).toContain('A month would hold two key lists');
    expect(r.html).toContain('refused until every day has the same keys');
  });

  it('refuses bad input with a 400, the message and the values entered', async () => {
    const cookie = await f.signIn('acme/editor');
    const csrf = f.csrfOf((await f.page('acme/editor', '/attribution')).html);
    const bad = await f.post(cookie, '/attribution/tag-keys', {
      csrf,
      tag_keys: 'team, Env',
      effective_from: '2026-12-01',
      intent: 'preview',
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('Tag key 2: &quot;Env&quot; is not a normalized tag key');
    expect(bad.html).toContain('value="team, Env"');
    const date = await f.post(cookie, '/attribution/tag-keys', {
      csrf,
      tag_keys: 'team',
      effective_from: '2026-1-5',
      intent: 'save',
    });
    expect(date.status).toBe(400);
    expect(date.html).toContain('Effective from: &quot;2026-1-5&quot; is not a day');
    expect(date.html).toContain('value="2026-1-5"');
    const missing = await f.post(cookie, '/attribution/tag-keys', {
      tag_keys: 'team',
      effective_from: '2026-12-01',
      intent: 'save',
    });
    expect(missing.status).toBe(403);
    expect(await tagKeyRows()).toHaveLength(1);
  });

  it('saves a change as the API does: one audit row naming the user', async () => {
    const cookie = await f.signIn('acme/editor');
    const csrf = f.csrfOf((await f.page('acme/editor', '/attribution')).html);
    const r = await f.post(cookie, '/attribution/tag-keys', {
      csrf,
      tag_keys: 'team, env, service, region',
      effective_from: '2026-12-01',
      intent: 'save',
    });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/attribution?saved=2026-12-01#tag-keys');
    const rows = await f
      .db('attribution_tag_keys')
      .where({ account_id: 'acme', effective_from: '2026-12-01' });
    expect(rows.map((x) => x.tag_keys)).toEqual([['team', 'env', 'service', 'region']]);
    const last = (await specAudits()).at(-1);
    expect(last?.actor).toBe('user:editor@acme.example');
    expect(last?.after).toEqual({
      changes: ['attribution tag keys: [team, env, service, region] from 2026-12-01'],
    });
    const page = await f.page('acme/editor', '/attribution?saved=2026-12-01');
    expect(page.html).toContain('The tag keys are saved: they apply from 2026-12-01');
    expect(page.html).toContain('scheduled');
  });
});

describe('the Attribution page: the summary by tag', () => {
  it("shows the month's largest tag combinations, with the exact figures beside the chart", async () => {
    const { status, html } = await f.page(
      'acme/admin',
      '/attribution?month=2026-10&product=apm_ingested_bytes',
    );
    expect(status).toBe(200);
    // The ten largest rows; a row without the product (another tag combination of an org) has no bar.
    const rows = (
      await tagMonthRows(f.db, {
        accountId: 'acme',
        fromMonth: '2026-10',
        toMonth: '2026-10',
        sortProduct: 'apm_ingested_bytes',
        sortMeasure: 'usage',
        descending: true,
        offset: 0,
        limit: 10,
      })
    ).filter((r) => r.values.apm_ingested_bytes !== undefined && r.values.apm_ingested_bytes.usage !== '0');
    expect(rows.length).toBeGreaterThan(3);
    const fig = /<figure class="chart-figure" id="top-tags">[\s\S]*?<\/figure>/.exec(html)?.[0] ?? '';
    expect(fig).toContain('<svg');
    const cells = [...fig.matchAll(/<th scope="row">([^<]+)<\/th>\s*<td class="num">([^<]+)<\/td>/g)];
    expect(cells.length).toBe(rows.length);
    rows.forEach((r, i) => {
      expect(cells[i]?.[1]).toContain(r.org_name);
      expect(cells[i]?.[2]).toBe(formatNumber(r.values.apm_ingested_bytes?.usage as string));
    });
    const [total] = (
      await tagMonthTotals(f.db, { accountId: 'acme', fromMonth: '2026-10', toMonth: '2026-10' })
    ).filter((t) => t.usage_type === 'apm_ingested_bytes');
    expect(html).toContain(formatNumber(total?.usage as string));
  });

  it('ranks by cost for a user with billing_read, and refuses cost without it (400 naming the parameter)', async () => {
    const ok = await f.page('acme/admin', '/attribution?month=2026-10&product=infra_hosts&measure=cost');
    expect(ok.status).toBe(200);
    expect(ok.html).toMatch(/<td class="num">USD [\d,.]+<\/td>/);
    const no = await f.page('acme/editor', '/attribution?month=2026-10&measure=cost');
    expect(no.status).toBe(400);
    expect(no.html).toContain('measure: &quot;cost&quot; is not one of usage');
  });

  it("shows a child org's user its own orgs' rows only", async () => {
    const { status, html } = await f.page('client-a/admin', '/attribution?month=2026-10&product=infra_hosts');
    expect(status).toBe(200);
    const mine = await tagMonthRows(f.db, {
      accountId: 'acme',
      fromMonth: '2026-10',
      toMonth: '2026-10',
      orgs: ['client-a', 'client-a-eu'],
      sortProduct: 'infra_hosts',
      sortMeasure: 'usage',
      descending: true,
      offset: 0,
      limit: 100,
    });
    expect(mine.length).toBeGreaterThan(0);
    const body = /<table id="by-tag-rows">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    expect([...body.matchAll(/<tr>\s*<th scope="row">/g)].length).toBe(mine.length);
    for (const other of ['client-b', 'client-c', 'trial-x', 'Client B']) expect(html).not.toContain(other);
  });

  it('refuses a bad month or product with a 400 that names it', async () => {
    const m = await f.page('acme/admin', '/attribution?month=2026-13');
    expect(m.status).toBe(400);
    expect(m.html).toContain('month: &quot;2026-13&quot; is not a month');
    const p = await f.page('acme/admin', '/attribution?month=2026-10&product=nope');
    expect(p.status).toBe(400);
    expect(p.html).toContain('product: &quot;nope&quot;');
  });
});

describe('the Attribution page: daily files', () => {
  const day = '2026-10-03';
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('console-attr');
    await exportDay(f.db, { accountId: 'acme', day, outputDir: dir });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("lists the month's attributed days with a file per product", async () => {
    const { html } = await f.page('acme/admin', '/attribution?month=2026-10');
    const days = await f
      .db('attribution_runs')
      .where({ account_id: 'acme' })
      .whereBetween('day', ['2026-10-01', '2026-10-31']);
    const products = await f.db('products').where({ account_id: 'acme' }).pluck('code');
    const links =
      html.match(/href="\/attribution\/files\/2026-10-\d\d\/daily_[a-z_]+_2026-10-\d\d\.tsv"/g) ?? [];
    expect(links.length).toBe(days.length * products.length);
  });

  it('gives the root org the file the export wrote, byte for byte', async () => {
    const name = `daily_infra_hosts_${day}.tsv`;
    const res = await fetch(`${f.url}/attribution/files/${day}/${name}`, {
      headers: { cookie: await f.signIn('acme/finance') },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${name}"`);
    const got = Buffer.from(await res.arrayBuffer());
    expect(got.equals(fs.readFileSync(path.join(dir, 'acme', 'attribution', name)))).toBe(true);
  });

  it("gives a child org's user only its own orgs' rows", async () => {
    const name = `daily_infra_hosts_${day}.tsv`;
    const res = await fetch(`${f.url}/attribution/files/${day}/${name}`, {
      headers: { cookie: await f.signIn('client-a/admin') },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="daily_infra_hosts_${day}_client-a.tsv"`,
    );
    const lines = (await res.text()).trimEnd().split('\n');
    const file = fs
      .readFileSync(path.join(dir, 'acme', 'attribution', name), 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines[0]).toBe(file[0]);
    const want = file.slice(1).filter((l) => /^client-a(-eu)?\t/.test(l));
    expect(want.length).toBeGreaterThan(0);
    expect(lines.slice(1)).toEqual(want);
  });

  it('is a 404 for an unknown file or a day never attributed, a 400 for a bad day', async () => {
    expect((await f.page('acme/admin', `/attribution/files/${day}/daily_nope_${day}.tsv`)).status).toBe(404);
    expect(
      (await f.page('acme/admin', '/attribution/files/2026-12-01/daily_infra_hosts_2026-12-01.tsv')).status,
    ).toBe(404);
    const bad = await f.page('acme/admin', '/attribution/files/2026-13-01/daily_infra_hosts_2026-13-01.tsv');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('day: &quot;2026-13-01&quot; is not a day');
    expect(
      (await f.page('acme/standard', `/attribution/files/${day}/daily_infra_hosts_${day}.tsv`)).status,
    ).toBe(404);
  });
});
