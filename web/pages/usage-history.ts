import { latestTrendMonth } from '../../db/console-reads';
import { storedTrends, type StoredTrend } from '../../db/trends';
import { add, dec, text, ZERO } from '../../domain/exact';
import { figure } from '../chart';
import { smallMultiples } from '../small-multiples';
import { monthName, qty } from '../format';
import { html, type Html } from '../html';
import type { PageCtx } from '../page';
import { wrap, type TreeOrg } from '../widgets';

/** Six months per product, from the stored trends of the month (or of the last close before it). */
export async function historyOf(
  ctx: Pick<PageCtx, 'db' | 'scope'>,
  month: string,
  view: 'billable' | 'all',
  root: string,
  orgs: readonly TreeOrg[],
): Promise<Html> {
  const { db, scope } = ctx;
  const at = await latestTrendMonth(db, scope.accountId, month);
  const stored =
    at &&
    (await storedTrends(db, {
      accountId: scope.accountId,
      month: at,
      view,
      // Only the rows drawn: the account's, or the subtree's orgs' (not 20 000 rows of every org).
      ...(root === scope.accountId ? { accountOnly: true } : { orgs: orgs.map((o) => o.public_id) }),
    }));
  if (!stored) return html`<p>No six-month history is stored yet: it is computed when a month is closed.</p>`;
  const all =
    root === scope.accountId ? stored.rows.filter((r) => r.scope === 'account') : summed(stored.rows, orgs);
  // A product with no usage in six months gets a name in a sentence, not an empty chart.
  const used = (s: { values: (string | null)[] }) =>
    s.values.some((v) => v !== null && !/^0(\.0*)?$/.test(v));
  const series = all.filter(used);
  const idle = all.filter((s) => !used(s)).map((s) => s.usage_type);
  return html`${at !== month ? html`<p class="hint">As of the close of ${monthName(at)}, the latest before ${monthName(month)}.</p>` : ''}
  ${idle.length ? html`<p>No ${view} usage in these six months: ${idle.join(', ')}.</p>` : ''}
  ${series.length ? sixMonths(series, stored.months, view) : ''}`;
}

/** Six months of every product with usage, and every figure in the table beside the chart. */
function sixMonths(
  series: readonly { usage_type: string; values: (string | null)[] }[],
  months: readonly string[],
  view: string,
): Html {
  const chart = smallMultiples({
    panels: series.map((s) => ({ title: s.usage_type, values: s.values })),
    categories: months.map((m) => m.slice(2).replace('-', '/')),
    height: 150,
    barMaxWidth: 24,
  });
  return figure({
    id: 'history',
    caption: `Six months of ${view} usage per product, ${monthName(months[0] as string)} to ${monthName(months.at(-1) as string)}`,
    chart,
    table: wrap(
      html`<table id="history-table">
        <thead>
          <tr>
            <th scope="col">Product</th>
            ${months.map((m) => html`<th scope="col" class="num">${m}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${series.map(
            (s) =>
              html`<tr>
                <th scope="row">${s.usage_type}</th>
                ${s.values.map((v) => html`<td class="num">${qty(v)}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>`,
    ),
  });
}

/** The org rows of a subtree, summed per product month by month (a month no org has stays empty). */
function summed(
  rows: readonly StoredTrend[],
  orgs: readonly TreeOrg[],
): { usage_type: string; values: (string | null)[] }[] {
  const ids = new Set(orgs.map((o) => o.public_id));
  const by = new Map<string, (ReturnType<typeof dec> | null)[]>();
  for (const r of rows) {
    if (r.scope !== 'org' || !ids.has(r.public_id)) continue;
    const acc = by.get(r.usage_type) ?? r.values.map(() => null);
    r.values.forEach((v, k) => {
      if (v !== null) acc[k] = add(acc[k] ?? ZERO, dec(v));
    });
    by.set(r.usage_type, acc);
  }
  return [...by]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([usage_type, vs]) => ({ usage_type, values: vs.map((v) => (v === null ? null : text(v))) }));
}
