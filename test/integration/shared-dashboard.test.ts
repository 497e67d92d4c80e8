import { ALL_PERMISSIONS } from '../../domain/access';
import { changeShare, revokeSharedDashboard, rotateShareToken, shareDashboard } from '../../queries/shares';
import { scopeOf } from '../../queries/scope';
import { monthFigures } from '../../queries/summary';
import { add, dec, text, ZERO } from '../../domain/exact';
import { formatNumber } from '../../domain/month-end-report';
import { simpleParser } from 'mailparser';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import { API_NOW } from '../support/api';
import { consoleFixture, flat, mailTo, rowsOf, textOf, type ConsoleFixture } from '../support/console';
import { currencyOf, withSpec } from '../support/currency';

let f: ConsoleFixture;
let sink: MailSink;
const MISSES = 40;
beforeAll(async () => {
  sink = await startMailSink();
  f = await consoleFixture({
    console: {
      mail: { url: sink.url, from: 'orgtally <orgtally@acme.example>' },
      shareMisses: { perAddress: MISSES, windowMs: 15 * 60_000 },
    },
  });
}, 120_000);
afterAll(async () => {
  await f?.close();
  await sink?.close();
});

const operator = () => scopeOf(f.db, 'acme');
const share = async (r: Parameters<typeof shareDashboard>[2]) =>
  shareDashboard(f.db, await operator(), r, API_NOW);
const open = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${f.url}${path}`, { headers, redirect: 'manual' });
  return { status: res.status, html: await res.text(), headers: res.headers };
};
const SIBLINGS = ['client-b', 'Client B', 'client-c', 'Client C', 'trial-x', 'Trial X'];

describe('a shared dashboard', () => {
  it("shows the org's month-to-date billable usage and its estimate, equal to the close's SQL and the estimate rows", async () => {
    const { token } = await share({ org: 'client-a' });
    const res = await open(`/shared/${token}`);
    expect(res.status).toBe(200);
    const figures = await monthFigures(f.db, await operator(), {
      month: '2026-11',
      asOf: new Date(API_NOW).toISOString(),
    });
    const want = new Map<string, { usage: ReturnType<typeof dec>; included: ReturnType<typeof dec> }>();
    for (const r of figures.orgs)
      if (r.public_id === 'client-a' || r.public_id === 'client-a-eu') {
        const a = want.get(r.usage_type) ?? { usage: ZERO, included: ZERO };
        want.set(r.usage_type, {
          usage: add(a.usage, dec(r.billable_usage)),
          included: add(a.included, dec(r.committed_usage)),
        });
      }
    const { rows: est } = await f.db.raw(
      `SELECT usage_type, sum(projected_usage)::text AS projected FROM estimate_orgs
        WHERE account_id = 'acme' AND as_of = (SELECT max(as_of) FROM estimate_runs WHERE account_id = 'acme')
          AND public_id IN ('client-a', 'client-a-eu') GROUP BY 1`,
    );
    const projected = new Map(
      est.map((r: { usage_type: string; projected: string }) => [r.usage_type, r.projected]),
    );
    const rows = rowsOf(res.html, 'month-table');
    expect(rows.map((r) => r[0])).toEqual([...want.keys()].sort());
    for (const [product, , usage, estimate, included] of rows) {
      const w = want.get(product as string);
      expect(usage).toBe(formatNumber(text(w?.usage ?? ZERO)));
      expect(estimate).toBe(formatNumber(projected.get(product as string) as string));
      expect(included).toBe(formatNumber(text(w?.included ?? ZERO)));
    }
    // Cost is the parent's to show, and this share does not.
    expect(res.html).not.toMatch(/USD|Cost/);
    for (const s of SIBLINGS) expect(res.html).not.toContain(s);
  });

  it('answers with no-referrer, no-store, noindex and a CSP without script', async () => {
    const { token } = await share({ org: 'client-a' });
    const res = await open(`/shared/${token}`);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-robots-tag')).toContain('noindex');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    expect(res.html).not.toContain('<script');
  });

  it('draws the last 30 days per product from the hourly rollup, measured as each product is billed', async () => {
    const { token } = await share({ org: 'client-a-eu' });
    const res = await open(`/shared/${token}`);
    const rows = rowsOf(res.html, 'daily-table');
    expect(rows).toHaveLength(30);
    expect(rows[0]?.[0]).toBe('2026-10-22');
    expect(rows.at(-1)?.[0]).toBe('2026-11-20');
    const { rows: days } = await f.db.raw(
      `SELECT to_char(u.hour::date, 'YYYY-MM-DD') AS day, p.code, p.aggregation,
              sum(u.total)::text AS total, avg(u.total)::text AS avg
         FROM usage_hourly u JOIN orgs o ON o.id = u.org_id JOIN products p ON p.id = u.product_id
        WHERE u.account_id = 'acme' AND o.public_id = 'client-a-eu' AND u.hour >= '2026-10-22'
        GROUP BY 1, 2, 3 ORDER BY 1, 2`,
    );
    expect(days.length).toBeGreaterThan(0);
    const header = /<table id="daily-table">.*?<thead>(.*?)<\/thead>/s.exec(flat(res.html))?.[1] ?? '';
    const cols = [...header.matchAll(/<th[^>]*>(.*?)<\/th>/g)].map(
      (m) => textOf(m[1] as string).split(' ')[0],
    );
    for (const d of days) {
      const row = rows.find((r) => r[0] === d.day) as string[];
      const cell = row[cols.indexOf(d.code)];
      expect(cell).toBe(formatNumber(d.aggregation === 'sum' ? d.total : d.avg));
    }
  });

  it('never shows a sibling: another org in the query or the path is the neutral page, a descendant narrows', async () => {
    const { token } = await share({ org: 'client-a' });
    const unknown = await open('/shared/ots_nothing-here');
    expect(unknown.status).toBe(404);
    for (const path of [
      `/shared/${token}?org=client-b`,
      `/shared/${token}?org=acme`,
      `/shared/${token}/client-b`,
      `/shared/${token}/../client-b`,
    ]) {
      const res = await open(path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.html).toBe(unknown.html);
    }
    const eu = await open(`/shared/${token}?org=client-a-eu`);
    expect(eu.status).toBe(200);
    expect(eu.html).toContain('Client A EU');
    const bad = await open(`/shared/${token}?tz=Mars/Olympus`);
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('tz: &quot;Mars/Olympus&quot; is not a time zone');
  });

  it('pause, expiry, revocation and rotation give the one neutral page on the next request', async () => {
    const { token, share: s } = await share({ org: 'client-a' });
    const neutral = (await open('/shared/ots_unknown')).html;
    const scope = await operator();
    await changeShare(f.db, scope, s.id, { status: 'paused' }, API_NOW);
    expect(await open(`/shared/${token}`)).toMatchObject({ status: 404, html: neutral });
    await changeShare(f.db, scope, s.id, { status: 'active' }, API_NOW);
    expect((await open(`/shared/${token}`)).status).toBe(200);
    await f
      .db('shares')
      .where({ id: s.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    expect(await open(`/shared/${token}`)).toMatchObject({ status: 404, html: neutral });
    await f
      .db('shares')
      .where({ id: s.id })
      .update({ expires_at: new Date(Date.now() + 86_400_000) });
    const rotated = await rotateShareToken(f.db, scope, s.id);
    expect(await open(`/shared/${token}`)).toMatchObject({ status: 404, html: neutral });
    expect((await open(`/shared/${rotated.token}`)).status).toBe(200);
    await revokeSharedDashboard(f.db, scope, s.id);
    expect(await open(`/shared/${rotated.token}`)).toMatchObject({ status: 404, html: neutral });
    const row = await f.db('shares').where({ id: s.id }).first('last_accessed_at', 'digest');
    expect(row.last_accessed_at).not.toBeNull();
    expect(String(row.digest)).not.toContain(rotated.token);
  });

  it('keeps the top tag combinations inside the locked filters, whatever the URL adds', async () => {
    const { token } = await share({ org: 'client-a', locks: { team: 'web' } });
    const res = await open(`/shared/${token}?product=infra_hosts`);
    const rows = rowsOf(res.html, 'tags-table');
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r[0]).toContain('team:web');
    const { rows: want } = await f.db.raw(
      `SELECT sum(d.total_usage)::text AS usage FROM attribution_daily d
         JOIN attribution_runs r ON r.account_id = d.account_id AND r.day = d.day
         JOIN orgs o ON o.id = d.org_id JOIN products p ON p.id = d.product_id
        WHERE d.account_id = 'acme' AND d.day >= '2026-11-01' AND p.code = 'infra_hosts'
          AND o.public_id IN ('client-a', 'client-a-eu')
          AND d.cells[array_position(r.tag_keys, 'team')] = 'web'`,
    );
    const shown = rows.map((r) => dec((r[1] as string).replace(/,/g, ''))).reduce(add, ZERO);
    expect(text(shown)).toBe(text(dec(want[0].usage)));
    // A URL tag for the locked key cannot widen it: the lock wins.
    const widened = await open(`/shared/${token}?product=infra_hosts&tag=team:data`);
    for (const r of rowsOf(widened.html, 'tags-table')) expect(r[0]).toContain('team:web');
  });

  it('shows cost only when the share says so: in the account’s currency, "not priced" for a product without a price', async () => {
    const { token } = await share({ org: 'client-b', showCost: true, showCommitment: false });
    // In EUR, and logs_indexed_events (which client B uses) without its commitment, so without a price.
    const change = (s: Record<string, unknown>) => ({
      ...currencyOf('EUR')(s),
      commitments: (s.commitments as { product: string }[]).filter(
        (c) => c.product !== 'logs_indexed_events',
      ),
    });
    const { res, none } = await withSpec(f.db, change, async () => ({
      res: await open(`/shared/${token}`),
      // The products the commitments give no price (both prices 0, or no commitment at all).
      none: (
        await f.db.raw(
          `SELECT p.code FROM products p WHERE p.account_id = 'acme' AND NOT EXISTS (
             SELECT 1 FROM commitments c WHERE c.account_id = p.account_id AND c.product_code = p.code
                AND (c.committed_price <> 0 OR c.on_demand_price <> 0))`,
        )
      ).rows as { code: string }[],
    }));
    const unpriced = new Set(none.map((r) => r.code));
    expect(unpriced.has('logs_indexed_events')).toBe(true);
    const rows = rowsOf(res.html, 'month-table');
    expect(rows.some((r) => unpriced.has(r[0] as string))).toBe(true);
    expect(rows.some((r) => !unpriced.has(r[0] as string))).toBe(true);
    for (const r of rows)
      expect([r[0], r.at(-1)]).toEqual([
        r[0],
        unpriced.has(r[0] as string) ? 'not priced' : expect.stringMatching(/^EUR \d[\d,]*\.\d{2}$/),
      ]);
    expect(res.html).not.toContain('USD');
    expect(res.html).not.toContain('Included (your share)');
  });

  it('an invite-only link shows nothing before the code, then the dashboard to the invited address', async () => {
    const { token } = await share({ org: 'client-a', invitees: [{ email: 'Viewer@Client-A.example' }] });
    const first = await open(`/shared/${token}`);
    expect(first.status).toBe(200);
    expect(first.html).not.toContain('month-table');
    expect(first.html).toContain('Send me a code');
    const pre = (first.headers.getSetCookie().find((c) => c.startsWith('ot_pre=')) ?? '').split(
      ';',
    )[0] as string;
    const csrf = f.csrfOf(first.html);
    const post = (path: string, form: Record<string, string>, cookie = pre) =>
      fetch(`${f.url}${path}`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, ...form }).toString(),
        redirect: 'manual',
      });
    const stranger = await post(`/shared/${token}/code`, { email: 'someone@else.example' });
    const invited = await post(`/shared/${token}/code`, { email: 'viewer@client-a.example' });
    const [a, b] = [await stranger.text(), await invited.text()];
    expect(a.replaceAll('someone@else.example', 'X')).toBe(b.replaceAll('viewer@client-a.example', 'X'));
    const mails = await mailTo(sink.messages, 'viewer@client-a.example');
    expect(mails).toHaveLength(1);
    expect(sink.messages.some((m) => m.to.includes('someone@else.example'))).toBe(false);
    const mail = await simpleParser(mails[0]?.raw as Buffer);
    expect(mail.subject).toBe('[orgtally] Your code for "Client A usage"');
    const code = /^\s+(\d{8})$/m.exec(mail.text ?? '')?.[1] as string;
    expect(code).toMatch(/^\d{8}$/);
    const wrong = await post(`/shared/${token}/verify`, {
      email: 'viewer@client-a.example',
      code: code === '00000000' ? '11111111' : '00000000',
    });
    expect(wrong.status).toBe(400);
    const right = await post(`/shared/${token}/verify`, { email: 'viewer@client-a.example', code });
    expect(right.status).toBe(303);
    const viewer = right.headers.getSetCookie().find((c) => c.startsWith('ot_view=')) as string;
    expect(viewer).toContain(`Path=/shared/${token}`);
    const page = await open(`/shared/${token}`, { cookie: viewer.split(';')[0] as string });
    expect(page.status).toBe(200);
    expect(page.html).toContain('month-table');
    // A code works once.
    expect((await post(`/shared/${token}/verify`, { email: 'viewer@client-a.example', code })).status).toBe(
      400,
    );
    const delivery = await f
      .db('deliveries')
      .where({ kind: 'share_code', recipient: 'viewer@client-a.example' });
    expect(delivery).toHaveLength(1);
    expect(JSON.stringify(delivery)).not.toContain(code);
  });

  it('sends one address at most 3 codes for one share in 15 minutes, however often it asks', async () => {
    const { token } = await share({ org: 'client-a', invitees: [{ email: 'busy@client-a.example' }] });
    const first = await open(`/shared/${token}`);
    const pre = (first.headers.getSetCookie().find((c) => c.startsWith('ot_pre=')) ?? '').split(
      ';',
    )[0] as string;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${f.url}/shared/${token}/code`, {
        method: 'POST',
        headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: f.csrfOf(first.html), email: 'busy@client-a.example' }).toString(),
      });
      expect(res.status).toBe(200);
    }
    expect(await mailTo(sink.messages, 'busy@client-a.example', 4)).toHaveLength(3);
  });

  it("a share that shows cost is changed or re-linked only by a user who may read cost; pause and revoke are anyone's", async () => {
    const { share: s } = await share({ org: 'client-a', showCost: true });
    const childAdmin = await scopeOf(f.db, 'acme', 'client-a', {
      permissions: ALL_PERMISSIONS,
      actor: 'user:admin@client-a.example',
    });
    await expect(rotateShareToken(f.db, childAdmin, s.id)).rejects.toThrow(/shows cost/);
    await expect(
      changeShare(f.db, childAdmin, s.id, { invitees: [{ email: 'me@client-a.example' }] }, API_NOW),
    ).rejects.toThrow(/shows cost/);
    expect(await f.db('share_invitees').where({ share_id: s.id })).toHaveLength(0);
    expect((await changeShare(f.db, childAdmin, s.id, { status: 'paused' }, API_NOW)).status).toBe('paused');
    expect((await revokeSharedDashboard(f.db, childAdmin, s.id)).state).toBe('revoked');
  });

  it('a code opens one session however many requests race with it, and 5 tries are 5 even when they race', async () => {
    const { token, share: s } = await share({
      org: 'client-a',
      invitees: [{ email: 'race@client-a.example' }],
    });
    const first = await open(`/shared/${token}`);
    const pre = (first.headers.getSetCookie().find((c) => c.startsWith('ot_pre=')) ?? '').split(
      ';',
    )[0] as string;
    const post = (path: string, form: Record<string, string>) =>
      fetch(`${f.url}${path}`, {
        method: 'POST',
        headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          csrf: f.csrfOf(first.html),
          email: 'race@client-a.example',
          ...form,
        }).toString(),
        redirect: 'manual',
      });
    await post(`/shared/${token}/code`, {});
    const raw = (await mailTo(sink.messages, 'race@client-a.example'))[0]?.raw as Buffer;
    const code = /^\s+(\d{8})$/m.exec((await simpleParser(raw)).text ?? '')?.[1] as string;
    const statuses = (
      await Promise.all(Array.from({ length: 6 }, () => post(`/shared/${token}/verify`, { code })))
    ).map((r) => r.status);
    expect(statuses.sort()).toEqual([303, 400, 400, 400, 400, 400]);
    expect(await f.db('share_sessions').where({ share_id: s.id })).toHaveLength(1);

    await post(`/shared/${token}/code`, {});
    const raw2 = (await mailTo(sink.messages, 'race@client-a.example', 2))[1]?.raw as Buffer;
    const code2 = /^\s+(\d{8})$/m.exec((await simpleParser(raw2)).text ?? '')?.[1] as string;
    const wrong = code2 === '00000000' ? '11111111' : '00000000';
    await Promise.all(Array.from({ length: 12 }, () => post(`/shared/${token}/verify`, { code: wrong })));
    const row = await f
      .db('share_codes')
      .where({ share_id: s.id })
      .orderBy('created_at', 'desc')
      .first('tries');
    expect(row.tries).toBe(5);
    expect((await post(`/shared/${token}/verify`, { code: code2 })).status).toBe(400);
  });

  it('limits links that open nothing per address: past the limit even a good link is a 429', async () => {
    const { token } = await share({ org: 'client-a' });
    await f.db('share_misses').delete();
    for (let i = 0; i < MISSES; i++) expect((await open(`/shared/ots_guess${i}`)).status).toBe(404);
    const res = await open(`/shared/${token}`);
    expect(res.status).toBe(429);
    await f.db('share_misses').delete();
    expect((await open(`/shared/${token}`)).status).toBe(200);
  });
});
