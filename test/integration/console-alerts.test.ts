import { currentSpec } from '../../db/account-spec';
import { applyAccountSpec } from '../../db/accounts';
import { alertHistory, listAlertStates } from '../../db/alert-reads';
import { evaluateAlerts } from '../../db/alerts';
import { API_NOW } from '../support/api';
import { consoleFixture, type ConsoleFixture } from '../support/console';
import { parseSpec } from '../support/fixtures';

let f: ConsoleFixture;

/** Two rules about sibling orgs, beside the account-wide ones of the example spec; then one evaluation. */
beforeAll(async () => {
  f = await consoleFixture();
  const spec = await currentSpec(f.db, 'acme', API_NOW);
  const orgRule = (id: string, org: string) => ({
    id,
    kind: 'threshold',
    scope: { org, product: 'logs_indexed_events' },
    above: '1',
    recipients: [`ops@${org}.example`],
  });
  spec.alerts = [
    ...(spec.alerts as unknown[]),
    orgRule('a-hosts', 'client-a'),
    orgRule('b-hosts', 'client-b'),
  ];
  await applyAccountSpec(f.db, parseSpec(spec), { asOfMs: API_NOW, actor: 'test' });
  await evaluateAlerts(f.db, { accountId: 'acme', asOf: '2026-11-18T00:00:00Z' }, 'acme.example');
}, 120_000);
afterAll(() => f?.close());

const unescape = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The fields a browser would send from the form with this id (text, hidden, checked boxes, selected options). */
function formValues(html: string, id: string): Record<string, string> {
  const form = new RegExp(`<form[^>]*id="${id}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1];
  if (!form) throw new Error(`no form #${id}`);
  const out: Record<string, string> = {};
  for (const m of form.matchAll(/<input\b([^>]*)>/g)) {
    const a = Object.fromEntries(
      [...(m[1] as string).matchAll(/([\w-]+)(?:="([^"]*)")?/g)].map((x) => [x[1], x[2] ?? '']),
    );
    if (!a.name) continue;
    if (a.type === 'checkbox' && !('checked' in a)) continue;
    out[a.name] = unescape(a.value ?? '');
  }
  for (const m of form.matchAll(/<select\b[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const sel =
      /<option value="([^"]*)"\s*selected/.exec(m[2] as string) ??
      /<option value="([^"]*)"/.exec(m[2] as string);
    out[m[1] as string] = unescape(sel?.[1] ?? '');
  }
  return out;
}

const rows = (html: string, table: string) =>
  [
    ...(new RegExp(`<table id="${table}">([\\s\\S]*?)</table>`).exec(html)?.[1] ?? '').matchAll(
      /<th scope="row">([^<]+)<\/th>/g,
    ),
  ].map((m) => m[1]);

describe('the Alerts page', () => {
  it('shows every rule, every state and every notice with its mail to the root org', async () => {
    const { status, html } = await f.page('acme/notify', '/alerts');
    expect(status).toBe(200);
    const ruleIds = (await f.db('alert_rules').where({ account_id: 'acme' }).pluck('rule_id')).sort();
    expect(rows(html, 'rules').sort()).toEqual(ruleIds);
    const states = await listAlertStates(f.db, 'acme', { all: true });
    expect(states.length).toBeGreaterThan(0);
    expect(rows(html, 'states')).toEqual(states.map((s) => s.rule_id));
    const notices = await alertHistory(f.db, 'acme', { limit: 100 });
    expect(notices.some((n) => n.rule_id === 'a-hosts')).toBe(true);
    expect(rows(html, 'history')).toEqual(notices.map((n) => n.rule_id));
    expect(notices.flatMap((n) => n.deliveries ?? []).length).toBeGreaterThan(0);
    for (const n of notices) {
      const cell = new RegExp(`<tr id="notice-${n.id}">[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
      for (const d of n.deliveries ?? [])
        expect(cell).toMatch(
          new RegExp(`${d.recipient.replace(/\./g, '\\.')}:\\s*<span class="status-mail-${d.status}">`),
        );
    }
    expect(html).toContain('id="edit-rules"');
  });

  it("shows a child org's user only what is about its orgs, and no editor", async () => {
    const { status, html } = await f.page('client-a/notify', '/alerts');
    expect(status).toBe(200);
    expect(rows(html, 'rules')).toEqual(['a-hosts']);
    const mine = (key: string) => /(^|;)org=client-a(-eu)?(;|$)/.test(key);
    const states = (await listAlertStates(f.db, 'acme', { all: true })).filter((s) => mine(s.scope_key));
    expect(states.some((s) => s.rule_id === 'a-hosts')).toBe(true);
    expect(rows(html, 'states')).toEqual(states.map((s) => s.rule_id));
    const notices = (await alertHistory(f.db, 'acme', { limit: 10_000 })).filter((n) => mine(n.scope_key));
    expect(notices.some((n) => n.rule_id === 'a-hosts')).toBe(true);
    expect(rows(html, 'history')).toEqual(notices.slice(0, 100).map((n) => n.rule_id));
    for (const other of ['client-b', 'b-hosts', 'infra-commit-80', 'ops@acme.example'])
      expect(html).not.toContain(other);
    expect(html).not.toContain('id="edit-rules"');
    expect(html).toContain("Alert rules are the account's");
  });

  it('filters the states to the firing ones, and refuses a bad filter naming it', async () => {
    const firing = await listAlertStates(f.db, 'acme');
    expect(rows((await f.page('acme/notify', '/alerts?states=firing')).html, 'states')).toEqual(
      firing.map((s) => s.rule_id),
    );
    const bad = await f.page('acme/notify', '/alerts?states=loud');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('states: &quot;loud&quot; is not one of all, firing');
  });

  it('is a 404 without usage_notifications_read', async () => {
    expect((await f.page('acme/standard', '/alerts')).status).toBe(404);
    expect((await f.page('acme/finance', '/alerts')).status).toBe(404);
    expect((await f.page('client-a/finance', '/alerts')).status).toBe(404);
  });
});

describe('changing the rules', () => {
  it('saves the form as the spec, with an audit row naming the user', async () => {
    const cookie = await f.signIn('acme/notify');
    const page = await f.page('acme/notify', '/alerts');
    const form = formValues(page.html, 'edit-rules');
    const n = Number(form.rules) - 1; // the last row is the new rule
    const b = Object.entries(form)
      .find(([k, v]) => /^r\d+_id$/.test(k) && v === 'b-hosts')?.[0]
      .split('_')[0];
    expect(b).toBeDefined();
    const before = await f.db('audit_log').where({ action: 'spec.apply' }).count<{ count: string }[]>();
    const res = await f.post(cookie, '/alerts/rules', {
      ...form,
      [`${b}_remove`]: 'yes',
      [`r${n}_id`]: 'eu-spike',
      [`r${n}_kind`]: 'spike',
      [`r${n}_org`]: 'client-a-eu',
      [`r${n}_product`]: 'logs_indexed_events',
      [`r${n}_change_percent`]: '40',
      [`r${n}_min_units`]: '2.5',
      [`r${n}_recipients`]: 'eu@acme.example, ops@acme.example',
      [`r${n}_renotify`]: '24h',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/alerts?done=saved');
    const stored = await f.db('alert_rules').where({ account_id: 'acme' }).orderBy('rule_id');
    expect(stored.map((r) => r.rule_id)).not.toContain('b-hosts');
    expect(stored.find((r) => r.rule_id === 'eu-spike')?.definition).toMatchObject({
      kind: 'spike',
      scope: { org: 'client-a-eu', product: 'logs_indexed_events' },
      change_percent: 40,
      min_units: '2.5',
      recipients: ['eu@acme.example', 'ops@acme.example'],
      renotify: '24h',
    });
    // Rules the form did not touch are stored as they were.
    expect(stored.find((r) => r.rule_id === 'infra-commit-80')?.definition).toMatchObject({
      measure: 'projected',
      percent_of_included: 80,
    });
    const after = await f.db('audit_log').where({ action: 'spec.apply' }).orderBy('id', 'desc').first();
    expect(after.actor).toBe('user:notify@acme.example');
    expect(JSON.stringify(after.after)).toContain('eu-spike');
    expect(
      (await f.db('audit_log').where({ action: 'spec.apply' }).count<{ count: string }[]>())[0]?.count,
    ).toBe(String(Number(before[0]?.count) + 1));
    expect((await f.page('acme/notify', '/alerts?done=saved')).html).toContain('The alert rules were saved.');
  });

  it('refuses a bad rule with a 400 that names it, keeps what was typed and changes nothing', async () => {
    const cookie = await f.signIn('acme/notify');
    const form = formValues((await f.page('acme/notify', '/alerts')).html, 'edit-rules');
    const n = Number(form.rules) - 1;
    const stored = await f
      .db('alert_rules')
      .where({ account_id: 'acme' })
      .orderBy('rule_id')
      .pluck('definition');
    const res = await f.post(cookie, '/alerts/rules', {
      ...form,
      [`r${n}_id`]: 'typo-rule',
      [`r${n}_kind`]: 'threshold',
      [`r${n}_product`]: 'infra_hosts',
      [`r${n}_above`]: '100',
      [`r${n}_recipients`]: 'not-an-address',
    });
    expect(res.status).toBe(400);
    expect(res.html).toContain('Rule &quot;typo-rule&quot; (row');
    expect(res.html).toContain('recipients[0]: must be one e-mail address');
    expect(res.html).toContain('value="not-an-address"');
    expect(
      await f.db('alert_rules').where({ account_id: 'acme' }).orderBy('rule_id').pluck('definition'),
    ).toEqual(stored);
  });

  it('refuses a form without its CSRF token, and a child org or a reader', async () => {
    const form = formValues((await f.page('acme/notify', '/alerts')).html, 'edit-rules');
    const { csrf: _, ...noToken } = form;
    expect((await f.post(await f.signIn('acme/notify'), '/alerts/rules', noToken)).status).toBe(403);
    const child = await f.signIn('client-a/notify');
    const childCsrf = f.csrfOf((await f.page('client-a/notify', '/alerts')).html);
    expect((await f.post(child, '/alerts/rules', { ...form, csrf: childCsrf })).status).toBe(404);
  });
});
