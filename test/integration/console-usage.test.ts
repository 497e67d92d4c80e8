import { byOrg, findVersion, totals } from '../../db/month-end-report';
import { formatNumber } from '../../domain/month-end-report';
import { consoleFixture, type ConsoleFixture } from '../support/console';

let f: ConsoleFixture;
beforeAll(async () => {
  f = await consoleFixture();
}, 120_000);
afterAll(() => f?.close());

describe('the Usage page', () => {
  it('shows the month-end rows of a closed month, product by product', async () => {
    const { status, html } = await f.page('acme/admin', '/usage?month=2026-10');
    expect(status).toBe(200);
    const v = await findVersion(f.db, 'acme', '2026-10');
    for (const t of await totals(f.db, v!)) {
      const row = new RegExp(
        `<th scope="row">${t.usage_type}</th>\\s*<td>[^<]*</td>\\s*<td class="num">([^<]+)</td>`,
      ).exec(html);
      expect(row?.[1]).toBe(formatNumber(t.billable_usage));
    }
    expect(html).toContain('October 2026');
  });

  it("shows a child org's admin its own subtree and never a sibling", async () => {
    const { status, html } = await f.page('client-a/admin', '/usage?month=2026-10');
    expect(status).toBe(200);
    const v = await findVersion(f.db, 'acme', '2026-10');
    const mine = (await byOrg(f.db, v!)).filter(
      (r) => r.public_id === 'client-a' || r.public_id === 'client-a-eu',
    );
    expect(mine.length).toBeGreaterThan(0);
    expect(html).toContain('client-a-eu');
    for (const other of ['client-b', 'client-c', 'trial-x']) expect(html).not.toContain(other);
    expect((await f.page('client-a/admin', '/usage?org=client-b')).status).toBe(404);
  });

  it('refuses a bad month with a 400 that names the parameter', async () => {
    const { status, html } = await f.page('acme/admin', '/usage?month=2026-13');
    expect(status).toBe(400);
    expect(html).toContain('month: &quot;2026-13&quot; is not a month');
  });

  it('is a 404 for a user without usage_read, and not in its navigation', async () => {
    expect((await f.page('acme/standard', '/usage')).status).toBe(404);
  });
});
