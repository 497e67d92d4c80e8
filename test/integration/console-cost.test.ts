import type { OrgMonthCost } from '../../db/console-cost';
import { dec, sum, text } from '../../domain/exact';
import { change, formatNumber } from '../../domain/month-end-report';
import { monthFigures } from '../../queries/summary';
import { scopeOf } from '../../queries/scope';
import { historyBlock } from '../../web/pages/cost-history';
import { API_NOW } from '../support/api';
import { consoleFixture, flat, textOf, type ConsoleFixture } from '../support/console';
import { inCurrency, unpricedIn } from '../support/currency';

let f: ConsoleFixture;
beforeAll(async () => {
  f = await consoleFixture();
}, 120_000);
afterAll(() => f?.close());

/** The page without the whitespace between tags, and a table row's cells as text. */
function cells(html: string, rowId: string): string[] {
  const row = new RegExp(`<tr id="${rowId}">(.*?)</tr>`, 's').exec(flat(html))?.[1];
  if (row === undefined) throw new Error(`no row ${rowId}`);
  return [...row.matchAll(/<td[^>]*>(.*?)<\/td>/gs)].map((m) => textOf(m[1] as string));
}
// The currency code first, as on an invoice: "USD 1,234.50".
const inCode = (code: string) => (v: string) => `${code} ${formatNumber(v, 2)}`;
const usd = inCode('USD');
const shownChange = (prev: string, cur: string) => {
  const c = change(prev, cur).pct;
  // No change is "0 %", unsigned.
  return c === 'new' || c === '0 %' ? c : c.startsWith('-') ? `−${c.slice(1)}` : `+${c}`;
};

/** Per org, the cost of a closed month's latest version, straight from month_end_orgs. */
async function closedCosts(month: string): Promise<Map<string, string>> {
  const { rows } = await f.db.raw(
    `SELECT public_id, sum(total_cost)::text AS cost FROM month_end_orgs
      WHERE account_id = 'acme' AND month = CAST(? AS date)
        AND version = (SELECT max(version) FROM month_end_versions WHERE account_id = 'acme' AND month = CAST(? AS date))
      GROUP BY public_id`,
    [`${month}-01`, `${month}-01`],
  );
  return new Map(rows.map((r: { public_id: string; cost: string }) => [r.public_id, r.cost]));
}

describe('the Cost page', () => {
  it('shows the chargeback of a closed month against the month before, from the month-end rows', async () => {
    const { status, html } = await f.page('acme/finance', '/cost?month=2026-10');
    expect(status).toBe(200);
    const oct = await closedCosts('2026-10');
    const sep = await closedCosts('2026-09');
    expect(oct.size).toBeGreaterThan(3);
    for (const [org, cost] of oct) {
      const c = cells(html, `chargeback-${org}`);
      expect(c[0]).toBe(usd(cost));
      expect(c[2]).toBe(usd(sep.get(org) ?? '0'));
      expect(c[3]).toBe(shownChange(sep.get(org) ?? '0', cost));
    }
    const { rows } = await f.db.raw(
      `SELECT sum(total_cost)::text AS cost FROM month_end_totals WHERE account_id = 'acme' AND month = '2026-10-01'`,
    );
    expect(textOf(/<dd id="cost-total">(.*?)<\/dd>/.exec(html)?.[1] ?? '')).toBe(usd(rows[0].cost));
    expect(html).toContain('October 2026');
    // A closed month has its bill and no projection.
    expect(html).not.toContain('id="cost-projected"');
  });

  it('shows the month to date so far and as projected by the latest estimate, committed and on-demand', async () => {
    const { status, html } = await f.page('acme/finance', '/cost');
    expect(status).toBe(200);
    const scope = await scopeOf(f.db, 'acme');
    const mtd = await monthFigures(f.db, scope, { month: '2026-11', asOf: new Date(API_NOW).toISOString() });
    const soFar = text(sum(mtd.totals.map((t) => dec(t.total_cost))));
    const { rows } = await f.db.raw(
      `SELECT (SELECT sum(round(quantity * committed_price, 2)) FROM commitments WHERE account_id = 'acme')::text AS committed,
              (SELECT sum(projected_on_demand_cost) FROM estimate_totals
                WHERE account_id = 'acme' AND as_of = (SELECT max(as_of) FROM estimate_runs WHERE account_id = 'acme'))::text AS on_demand,
              ((SELECT sum(round(quantity * committed_price, 2)) FROM commitments WHERE account_id = 'acme')
              + (SELECT sum(projected_on_demand_cost) FROM estimate_totals
                WHERE account_id = 'acme' AND as_of = (SELECT max(as_of) FROM estimate_runs WHERE account_id = 'acme')))
                ::text AS projected`,
    );
    const bill = flat(html);
    const row = (label: string) =>
      [
        ...(new RegExp(`<tr><th scope="row">${label}</th>(.*?)</tr>`).exec(bill)?.[1] ?? '').matchAll(
          /<td[^>]*>(.*?)<\/td>/g,
        ),
      ].map((m) => textOf(m[1] as string));
    expect(row('Committed')).toEqual([usd(rows[0].committed), usd(rows[0].committed)]);
    expect(row('On-demand')[1]).toBe(usd(rows[0].on_demand));
    expect(row('Total.*?')).toEqual([usd(soFar), usd(String(rows[0].projected))]);
    expect(textOf(/<dd id="cost-projected">(.*?)<\/dd>/.exec(html)?.[1] ?? '')).toBe(
      usd(String(rows[0].projected)),
    );
    expect(html).toContain('id="bill-chart"');
    expect(html).toContain('2026-11-18 00:00 UTC');
  });

  it('shows six months of cost per org, closed months from their close and the month to date live', async () => {
    const { html } = await f.page('acme/finance', '/cost?month=2026-10');
    const sep = await closedCosts('2026-09');
    const oct = await closedCosts('2026-10');
    const table = flat(/<table id="cost-history">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '');
    expect(table).toContain('<th scope="col" class="num">2026-05</th>');
    for (const org of oct.keys()) {
      const row = new RegExp(`<th scope="row">[^<]*<span class="muted">${org}</span></th>(.*?)</tr>`).exec(
        table,
      )?.[1];
      const c = [...(row ?? '').matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => textOf(m[1] as string));
      expect(c).toEqual(['—', '—', '—', '—', usd(sep.get(org) ?? '0'), usd(oct.get(org) as string)]);
    }
    const chart =
      /<figure class="chart-figure" id="cost-history-chart">[\s\S]*?<\/figure>/.exec(html)?.[0] ?? '';
    expect(chart).toContain('<svg');
    expect(chart).not.toContain('style=');
    expect(chart).toContain('Client A EU');
    // The month to date's column is its live figure: the same as its chargeback.
    const now = await f.page('acme/finance', '/cost');
    const live = flat(/<table id="cost-history">[\s\S]*?<\/table>/.exec(now.html)?.[0] ?? '');
    for (const org of oct.keys()) {
      const last = new RegExp(
        `<span class="muted">${org}</span></th>(?:<td[^>]*>[^<]*</td>){5}<td[^>]*>([^<]*)</td>`,
      ).exec(live)?.[1];
      expect(last).toBe(cells(now.html, `chargeback-${org}`)[0]);
    }
  });

  it('keeps at most eight orgs in the chart and sums the rest as "other orgs"; the table lists them all', () => {
    const rows: OrgMonthCost[] = Array.from({ length: 11 }, (_, i) => ({
      month: '2026-10',
      public_id: `org-${String(i).padStart(2, '0')}`,
      org_name: `Org ${i}`,
      billable: true,
      total_cost: `${100 + i}.50`,
    }));
    const out = historyBlock(['2026-09', '2026-10'], new Set(['2026-10']), rows, {
      currency: 'USD',
      unpriced: [],
    }).value;
    expect(out).toContain('other orgs (3)');
    for (const r of rows) expect(out).toContain(`<span class="muted">${r.public_id}</span>`);
    // The three cheapest are the ones folded into "other orgs".
    const legend = [...out.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(legend).toContain('Org 10');
    expect(legend).not.toContain('Org 0');
  });

  it("shows every amount in the account's currency: EUR once the spec says EUR, in the tables and the charts", async () => {
    const oct = await closedCosts('2026-10');
    const { html } = await inCurrency(f.db, 'EUR', () => f.page('acme/finance', '/cost?month=2026-10'));
    const eur = inCode('EUR');
    for (const [org, cost] of oct) expect(cells(html, `chargeback-${org}`)[0]).toBe(eur(cost));
    const { rows } = await f.db.raw(
      `SELECT sum(total_cost)::text AS cost FROM month_end_totals WHERE account_id = 'acme' AND month = '2026-10-01'`,
    );
    expect(textOf(/<dd id="cost-total">(.*?)<\/dd>/.exec(html)?.[1] ?? '')).toBe(eur(rows[0].cost));
    expect(textOf(/<p class="hint" id="cost-currency">(.*?)<\/p>/s.exec(html)?.[1] ?? '')).toMatch(
      /^All amounts are in EUR\./,
    );
    // The charts' value axes are named by the currency too.
    for (const id of ['bill-chart', 'cost-history-chart']) {
      const chart =
        new RegExp(`<figure class="chart-figure" id="${id}">[\\s\\S]*?</figure>`).exec(html)?.[0] ?? '';
      expect(chart).toMatch(/<text[^>]*>EUR<\/text>/);
    }
    expect(html).not.toContain('USD');
    // Back in the spec's own currency, the same page says USD again: the currency is read, not assumed.
    const back = await f.page('acme/finance', '/cost?month=2026-10');
    expect(back.html).not.toContain('EUR');
  });

  it('shows a product without a price as "not priced", never 0.00, and names it beside every total', async () => {
    const unpriced = await unpricedIn(f.db, 'acme', '2026-10');
    expect(unpriced.length).toBeGreaterThan(0);
    const { rows } = await f.db.raw(
      `SELECT usage_type, committed_cost::text, on_demand_cost::text, total_cost::text FROM month_end_totals
        WHERE account_id = 'acme' AND month = '2026-10-01' ORDER BY usage_type`,
    );
    expect(rows.length).toBeGreaterThan(unpriced.length);
    const { html } = await f.page('acme/finance', '/cost?month=2026-10');
    const products = flat(/<table id="bill-products">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '');
    for (const r of rows) {
      const row = new RegExp(`<tr><th scope="row">${r.usage_type}</th>(.*?)</tr>`).exec(products)?.[1] ?? '';
      const c = [...row.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => textOf(m[1] as string));
      expect([r.usage_type, c]).toEqual([
        r.usage_type,
        unpriced.includes(r.usage_type)
          ? ['not priced', 'not priced', 'not priced']
          : [usd(r.committed_cost), usd(r.on_demand_cost), usd(r.total_cost)],
      ]);
    }
    const note = `(excludes not priced: ${unpriced.join(', ')})`;
    const bill = flat(/<table id="bill">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '');
    expect(textOf(/<th scope="row">Total.*?<\/th>/.exec(bill)?.[0] ?? '')).toBe(`Total ${note}`);
    for (const id of ['chargeback', 'cost-history']) {
      const foot = flat(new RegExp(`<table id="${id}">[\\s\\S]*?</table>`).exec(html)?.[0] ?? '');
      expect(textOf(/<tfoot>.*?<\/th>/.exec(foot)?.[0] ?? '')).toBe(`Account ${note}`);
    }
  });

  it('refuses a bad month with a 400 that names the parameter, and says so for a month without figures', async () => {
    const bad = await f.page('acme/finance', '/cost?month=2026-13');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('month: &quot;2026-13&quot; is not a month');
    const later = await f.page('acme/finance', '/cost?month=2027-03');
    expect(later.status).toBe(200);
    expect(later.html).toContain('There is no cost for March 2027');
  });

  it('is a 404 without usage_read and billing_read, or below the root org, and not in the navigation', async () => {
    for (const user of [
      'acme/editor',
      'acme/standard',
      'client-a/finance',
      'client-a/admin',
      'client-b/finance',
    ])
      expect((await f.page(user, '/cost')).status).toBe(404);
    expect((await f.page('acme/editor', '/usage')).html).not.toContain('href="/cost"');
    expect((await f.page('acme/admin', '/cost')).status).toBe(200);
  });
});
