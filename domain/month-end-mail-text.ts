import { add, dec, text } from './exact';
import { completeThrough, humanDay, humanInstant, monthName, shortMonth } from './human-time';
import { amount, money, NOT_PRICED, price, quantity, signedMoney } from './money';
import {
  costChanges,
  headline,
  orgTree,
  productLines,
  restatement,
  tagText,
  type MailModel,
} from './month-end-mail';

/** The finance mail's text part: the same facts in the same order, every line under 100 columns. */

export const TEXT_WIDTH = 99;
const MAX_ORG_LINES = 30;

/**
 * Aligned columns; `right` columns are right-aligned (numbers). Text cells are clipped by their callers so the
 * tables stay under 100 columns for amounts up to hundreds of millions.
 */
function columns(rows: string[][], right: ReadonlySet<number>): string[] {
  const w = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(w[i] as number) : c.padEnd(w[i] as number)))
      .join('  ')
      .trimEnd(),
  );
}

/** Words wrapped at the width. */
function wrap(s: string, width = TEXT_WIDTH): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
const signed = (v: string) => (v.startsWith('-') || v === '0' ? amount(v) : `+${amount(v)}`);
const rule = (title: string) => ['', title, '-'.repeat(Math.min(title.length, TEXT_WIDTH))];

export function renderText(m: MailModel): string {
  const c = m.account.currency;
  const tz = m.account.timezone;
  const h = headline(m);
  const out: string[] = [`${m.account.name}: month-end ${monthName(m.month)}`, ''];
  const label = `${m.version > 1 ? `RESTATED (version ${m.version}) ` : ''}${m.status === 'final' ? 'FINAL' : 'PROVISIONAL'}`;
  out.push(
    ...wrap(
      m.status === 'final'
        ? `${label}: all usage ${completeThrough(m.data_complete_through, tz)} is in. These figures will not change.`
        : `${label}: late usage may still arrive until ${humanInstant(m.final_after, tz)}; the final figures ` +
            `follow then. Data is complete ${completeThrough(m.data_complete_through, tz)}.`,
    ),
    '',
    `Amount for ${monthName(m.month)}: ${money(h.total, c)}`,
  );
  if (h.previous)
    out.push(
      `Against ${monthName(h.previous.month)}: ${signedMoney(h.previous.change, c)}` +
        `${h.previous.pct ? ` (${h.previous.pct})` : ''}, was ${money(h.previous.total, c)}`,
    );
  out.push(
    `Committed: ${money(h.committed, c)}   On-demand: ${money(h.on_demand, c)}` +
      `${h.on_demand_share ? ` (${h.on_demand_share} of the amount)` : ''}`,
  );
  if (m.status === 'provisional' && m.projected)
    out.push(
      `Projected bill for the month: ${money(m.projected.total, c)} ` +
        `(estimate of ${humanInstant(m.projected.as_of, tz)})`,
    );
  if (h.not_priced.length) out.push(...wrap(`Not in the amount (no price): ${h.not_priced.join(', ')}.`));

  const r = restatement(m);
  if (r) {
    out.push(...rule(`What changed since version ${r.prior_version}`));
    out.push(
      ...wrap(
        `Version ${r.prior_version} of ${humanDay(r.prior_computed_at, tz)} said ${money(r.before, c)}; ` +
          `this version says ${money(r.after, c)} (${signedMoney(r.change, c)}).`,
      ),
    );
    if (r.usage_changed.length)
      out.push(...wrap(`Usage arrived or changed for ${r.usage_changed.join(', ')}.`));
    if (r.moved_by_split.length)
      out.push(
        ...wrap(
          `${r.moved_by_split.join(', ')} sent no new usage but moved too: a commitment is shared by every ` +
            `org's usage, so each org's committed and on-demand parts are split again.`,
        ),
      );
    if (r.contract_changed.length)
      out.push(
        ...wrap(
          `The contract changed after version ${r.prior_version}: the prices or committed quantities of ` +
            `${r.contract_changed.join(', ')}.`,
        ),
      );
    if (r.orgs.length)
      out.push(
        '',
        ...columns(
          [
            ['org', `was (${c})`, 'now', 'change'],
            ...r.orgs.map((o) => [clip(o.name, 40), amount(o.before), amount(o.after), signed(o.change)]),
          ],
          new Set([1, 2, 3]),
        ),
      );
  }

  out.push(...rule('Product lines'));
  out.push(
    ...columns(
      [
        ['product', 'unit', 'quantity', 'included', 'on-demand', 'price', `amount (${c})`],
        ...productLines(m).map((t) => [
          clip(t.usage_type, 24),
          clip(t.unit, 14),
          quantity(t.billable_usage),
          quantity(t.included_usage),
          quantity(t.on_demand_usage),
          t.priced ? price(t.on_demand_price) : '-',
          t.priced ? amount(t.total_cost) : NOT_PRICED,
        ]),
        ['total', '', '', '', '', '', amount(h.total)],
      ],
      new Set([2, 3, 4, 5, 6]),
    ),
    'price: on-demand unit price; committed quantity is charged at the committed price.',
  );

  out.push(...rule('Chargeback by org'));
  const prev = m.previous ? shortMonth(m.previous.month) : undefined;
  out.push(
    ...columns(
      [
        ['org', 'committed', 'on-demand', `amount (${c})`, ...(prev ? [prev, 'change'] : [])],
        ...orgTree(m)
          .slice(0, MAX_ORG_LINES)
          .map((o) => [
            clip(
              `${'  '.repeat(o.depth)}${o.name}${o.depth === 0 ? ' (parent)' : o.billable ? '' : ' (trial)'}`,
              34,
            ),
            amount(o.committed),
            amount(o.on_demand),
            amount(o.total),
            ...(prev ? [amount(o.previous ?? '0'), signed(o.change ?? '0')] : []),
          ]),
      ],
      new Set([1, 2, 3, 4, 5]),
    ),
  );

  const more = orgTree(m).length - MAX_ORG_LINES;
  if (more > 0) out.push(`...and ${more} more orgs: see ${m.files.byOrg}.`);

  out.push(...rule('Cost per month'));
  out.push(
    ...columns(
      [
        ['month', 'committed', 'on-demand', `amount (${c})`],
        ...m.cost_history.map((x) =>
          x.committed === null || x.on_demand === null
            ? [monthName(x.month), 'not closed', '', '']
            : [
                monthName(x.month),
                amount(x.committed),
                amount(x.on_demand),
                amount(text(add(dec(x.committed), dec(x.on_demand)))),
              ],
        ),
      ],
      new Set([1, 2, 3]),
    ),
  );

  if (m.previous) {
    const list = costChanges(m.previous.by_org, m.by_org).slice(0, 10);
    if (list.length) {
      out.push(...rule(`Largest changes against ${monthName(m.previous.month)}`));
      out.push(
        ...columns(
          [
            ['org', 'product', `was (${c})`, 'now', 'change'],
            ...list.map((x) => [
              clip(x.org_name, 28),
              clip(x.usage_type, 24),
              amount(x.previous),
              amount(x.current),
              signed(x.change),
            ]),
          ],
          new Set([2, 3, 4]),
        ),
      );
    }
  }

  if (m.top_tags.length) {
    out.push(...rule('Top tag rows by cost'));
    out.push(
      ...columns(
        [
          ['org', 'product', 'tags', `amount (${c})`],
          ...m.top_tags.map((t) => [
            clip(t.org_name, 20),
            clip(t.usage_type, 20),
            clip(tagText(t.tags), 40),
            amount(t.total_cost),
          ]),
        ],
        new Set([3]),
      ),
    );
  }

  out.push(
    '',
    ...wrap(
      `Version ${m.version}, computed for ${humanInstant(m.as_of, tz)}. Dates in ${tz}. Attached: ` +
        `${[m.files.byOrg, m.files.byTag, ...m.files.summaries].join(', ')}.`,
    ),
    '',
  );
  return out.join('\n');
}
