import { computeEstimates } from '../../db/estimates';
import { formatNumber } from '../../domain/month-end-report';
import { consoleFixture, rowsOf, textOf, type ConsoleFixture } from '../support/console';

let f: ConsoleFixture;
/** Runs added to the fixture's one (2026-11-18): October's, for its estimate error, and two on one November day. */
const RUNS = [
  '2026-10-08T00:00:00Z',
  '2026-10-16T00:00:00Z',
  '2026-10-24T00:00:00Z',
  '2026-11-01T00:00:00Z',
  '2026-11-03T05:00:00Z',
  '2026-11-03T09:00:00Z',
  '2026-11-16T00:00:00Z',
];
beforeAll(async () => {
  f = await consoleFixture();
  for (const at of RUNS) await computeEstimates(f.db, 'acme', at);
  // An org rule beside the spec's account rules (infra-commit-80: projected ≥ 80 % of included).
  await f.db('alert_rules').insert({
    account_id: 'acme',
    rule_id: 'client-a-hosts',
    kind: 'threshold',
    definition: {
      id: 'client-a-hosts',
      kind: 'threshold',
      scope: { org: 'client-a', product: 'infra_hosts' },
      measure: 'mtd',
      above: '12.5',
      recipients: ['ops@acme.example'],
    },
  });
}, 120_000);
afterAll(() => f?.close());

const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

describe('the Estimated usage page', () => {
  it("draws the account's billable estimate of each product, one table row per day, with the included quantity", async () => {
    const { status, html } = await f.page('acme/admin', '/estimates');
    expect(status).toBe(200);
    const { rows } = await f.db.raw(
      `SELECT DISTINCT ON (t.usage_type, date_trunc('day', r.as_of AT TIME ZONE 'UTC'))
              t.usage_type, r.as_of, r.hours_elapsed, r.month_hours, t.mtd_billable::text AS mtd,
              t.projected_billable::text AS projected, t.included_usage::text AS included
         FROM estimate_runs r JOIN estimate_totals t ON t.account_id = r.account_id AND t.as_of = r.as_of
        WHERE r.account_id = 'acme' AND r.month = '2026-11-01' AND t.usage_type IN ('apm_ingested_bytes', 'logs_indexed_events')
        ORDER BY t.usage_type, date_trunc('day', r.as_of AT TIME ZONE 'UTC'), r.as_of DESC`,
    );
    for (const product of ['apm_ingested_bytes', 'logs_indexed_events']) {
      const want = (rows as { usage_type: string; as_of: Date; [k: string]: unknown }[])
        .filter((r) => r.usage_type === product)
        .sort((a, b) => a.as_of.getTime() - b.as_of.getTime())
        .map((r) => [
          when(r.as_of),
          `${r.hours_elapsed} of ${r.month_hours}`,
          formatNumber(r.mtd as string),
          formatNumber(r.projected as string),
          formatNumber(r.included as string),
        ]);
      // 2026-11-03 had two runs: the table keeps the later one; the 2026-11-01T00 run is October's.
      expect(want.map((w) => w[0])).toEqual([
        '2026-11-03 09:00 UTC',
        '2026-11-16 00:00 UTC',
        '2026-11-18 00:00 UTC',
      ]);
      expect(rowsOf(html, `estimate-${product}-days`)).toEqual(want);
      const fig = new RegExp(`<figure class="chart-figure" id="estimate-${product}">.*?</figure>`, 's').exec(
        html,
      )?.[0];
      expect(fig).toContain('<svg');
      expect(fig).not.toContain('style=');
    }
    // Products with no usage and no rule are named, not drawn.
    expect(textOf(/<p id="estimate-idle">(.*?)<\/p>/s.exec(html)?.[1] ?? '')).toContain('containers');
    expect(html).not.toContain('id="estimate-containers"');
  });

  it("draws the account's threshold rules as lines at their limits", async () => {
    const { html } = await f.page('acme/admin', '/estimates');
    const { rows } = await f.db.raw(
      `SELECT (80 * included_usage / 100)::text AS limit, projected_billable::text AS latest FROM estimate_totals
        WHERE account_id = 'acme' AND usage_type = 'infra_hosts'
          AND as_of = (SELECT max(as_of) FROM estimate_runs WHERE account_id = 'acme')`,
    );
    const [rule] = rowsOf(html, 'estimate-infra_hosts-thresholds');
    expect(rule?.[0]).toBe('infra-commit-80');
    expect(rule?.[1]).toBe('projected ≥ 80 % of included');
    expect(rule?.[2]).toBe(`${formatNumber(rows[0].limit)} host`);
    expect(rule?.[3]).toBe(formatNumber(rows[0].latest));
    const svg = /id="estimate-infra_hosts">.*?<svg.*?<\/svg>/s.exec(html)?.[0] ?? '';
    expect(svg).toMatch(/<text[^>]*>infra-commit-80<\/text>/);
    // An org's rule is drawn on that org's chart, not the account's.
    expect(svg).not.toContain('client-a-hosts');
  });

  it("shows a child org's user its own org alone, its rules, and never a sibling or the account's figures", async () => {
    const { status, html } = await f.page('client-a/admin', '/estimates');
    expect(status).toBe(200);
    const { rows } = await f.db.raw(
      `SELECT e.as_of, e.mtd_usage::text AS mtd, e.projected_usage::text AS projected FROM estimate_orgs e
         JOIN estimate_runs r ON r.account_id = e.account_id AND r.as_of = e.as_of
        WHERE e.account_id = 'acme' AND r.month = '2026-11-01' AND e.public_id = 'client-a' AND e.usage_type = 'infra_hosts'
        ORDER BY e.as_of`,
    );
    expect(rows.length).toBeGreaterThan(1);
    expect(rowsOf(html, 'estimate-infra_hosts-days').map((r) => [r[0], r[2], r[3]])).toEqual(
      rows.map((r: { as_of: Date; mtd: string; projected: string }) => [
        when(r.as_of),
        formatNumber(r.mtd),
        formatNumber(r.projected),
      ]),
    );
    const [rule, ...more] = rowsOf(html, 'estimate-infra_hosts-thresholds');
    expect(more).toEqual([]);
    expect(rule?.slice(0, 3)).toEqual(['client-a-hosts', 'month to date above 12.5 host', '12.5 host']);
    expect(rule?.[4]).toBe(Number(rows.at(-1).mtd) > 12.5 ? 'over the limit' : 'below the limit');
    for (const hidden of ['client-b', 'Client B', 'client-c', 'trial-x', 'infra-commit-80', 'Estimate error'])
      expect(html).not.toContain(hidden);
    // The account's included quantity is not an org's to see.
    expect(html).not.toContain('<th scope="col" class="num">Included</th>');
    expect((await f.page('client-a/admin', '/estimates?org=client-a-eu')).status).toBe(200);
    expect((await f.page('client-a/admin', '/estimates?org=client-b')).status).toBe(404);
    expect((await f.page('client-a/admin', '/estimates?org=acme')).status).toBe(404);
  });

  it('shows how far the last closed month was estimated from its close, per product', async () => {
    const { html } = await f.page('acme/admin', '/estimates');
    const { rows } = await f.db.raw(
      `SELECT m.usage_type, m.billable_usage::text AS actual, e.projected_billable::text AS last,
              round(100 * (e.projected_billable - m.billable_usage) / m.billable_usage, 1)::text AS error
         FROM month_end_totals m JOIN estimate_totals e
           ON e.account_id = m.account_id AND e.usage_type = m.usage_type AND e.as_of = '2026-11-01T00:00:00Z'
        WHERE m.account_id = 'acme' AND m.month = '2026-10-01' AND m.version = 1 AND m.billable_usage > 0`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(html).toContain('Estimate error of October 2026');
    const table = new Map(rowsOf(html, 'estimate-errors').map((r) => [r[0], r]));
    for (const r of rows as { usage_type: string; actual: string; last: string; error: string }[]) {
      const shown = table.get(r.usage_type);
      expect(shown?.[2]).toBe(formatNumber(r.actual));
      // Product, unit, actual, then estimate and error at 25, 50, 75 % and the last estimate.
      expect(shown?.[9]).toBe(formatNumber(r.last));
      const e = r.error.startsWith('-')
        ? `−${r.error.slice(1)} %`
        : /^0(\.0*)?$/.test(r.error)
          ? `${r.error} %`
          : `+${r.error} %`;
      expect(shown?.[10]).toBe(e);
    }
  });

  it('leaves out the included quantity without billing_read and the thresholds without usage_notifications_read', async () => {
    const { status, html } = await f.page('acme/editor', '/estimates');
    expect(status).toBe(200);
    expect(html).toContain('id="estimate-apm_ingested_bytes-days"');
    expect(html).not.toContain('<th scope="col" class="num">Included</th>');
    expect(html).not.toContain('infra-commit-80');
    expect(html).toContain('shown to users with billing_read');
    expect(html).toContain('shown to users with usage_notifications_read');
  });

  it('refuses a bad month with a 400 naming it, says when a month has no estimate, and is a 404 without usage_read', async () => {
    const bad = await f.page('acme/admin', '/estimates?month=2026-1');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('month: &quot;2026-1&quot; is not a month');
    const none = await f.page('acme/admin', '/estimates?month=2026-09');
    expect(none.status).toBe(200);
    expect(none.html).toContain('No estimate of September 2026 is stored');
    expect((await f.page('acme/standard', '/estimates')).status).toBe(404);
    expect((await f.page('client-b/notify', '/estimates')).status).toBe(404);
  });
});
