import { escapeHtml as esc } from './escape';
import { add, dec, text } from './exact';
import { completeThrough, humanDay, humanInstant, monthName, shortMonth } from './human-time';
import { amount, money, NOT_PRICED, price, quantity as qty, signedMoney } from './money';
import {
  CHART_CID,
  costChanges,
  headline,
  mailSubject,
  orgTree,
  productLines,
  restatement,
  tagText,
  type MailModel,
} from './month-end-mail';

/**
 * The finance mail's HTML: what finance needs first on the first screen (the amount, its status, the change, the
 * committed / on-demand split), then the invoice lines, chargeback per org, six months of cost, the largest
 * changes. Inline styles only, tables every common client renders, one column under 400 px wide; the chart is a
 * PNG attached inline (clients show no SVG) with its numbers in a table beside it.
 */

const FONT = 'font-family:Helvetica,Arial,sans-serif';
const CELL = 'padding:4px 6px;border-bottom:1px solid #e2e2e2;font-size:13px;vertical-align:top';
const NUM = `${CELL};text-align:right;white-space:nowrap`;
const HEAD = 'padding:4px 6px;border-bottom:2px solid #333;font-size:12px;color:#333;vertical-align:bottom';
const MUTED = 'color:#666;font-size:12px';

type Cell = { v: string; num?: boolean; style?: string; raw?: boolean };

function table(head: Cell[], rows: Cell[][], caption?: string): string {
  const th = head
    .map((c) => `<th style="${HEAD};text-align:${c.num ? 'right' : 'left'}">${esc(c.v)}</th>`)
    .join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r
          .map(
            (c) =>
              `<td style="${c.num ? NUM : CELL}${c.style ? `;${c.style}` : ''}">${c.raw ? c.v : esc(c.v)}</td>`,
          )
          .join('')}</tr>`,
    )
    .join('');
  return (
    `<table role="table" width="100%" cellspacing="0" cellpadding="0" style="border-collapse:collapse;width:100%;margin:6px 0 4px">` +
    `${caption ? `<caption style="text-align:left;${MUTED};padding-bottom:4px">${esc(caption)}</caption>` : ''}` +
    `<thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`
  );
}

const h2 = (t: string) => `<h2 style="font-size:17px;margin:26px 0 4px;${FONT}">${esc(t)}</h2>`;

function banner(m: MailModel): string {
  const tz = m.account.timezone;
  const [label, colour, words] =
    m.status === 'final'
      ? [
          'FINAL',
          '#1b6e3a',
          `All usage ${completeThrough(m.data_complete_through, tz)} is in. These figures will not change.`,
        ]
      : [
          'PROVISIONAL',
          '#8a5a00',
          `Late usage may still arrive until ${humanInstant(m.final_after, tz)}; the final figures follow then. ` +
            `Data is complete ${completeThrough(m.data_complete_through, tz)}.`,
        ];
  const restated = m.version > 1 ? `RESTATED · VERSION ${m.version} · ` : '';
  return (
    `<div role="status" style="border-left:6px solid ${colour};background:#f6f6f2;padding:10px 12px;margin:12px 0">` +
    `<div style="font-weight:bold;color:${colour};font-size:13px;letter-spacing:0.5px">${esc(restated + label)}</div>` +
    `<div style="font-size:13px;margin-top:3px">${esc(words)}</div></div>`
  );
}

function headlineHtml(m: MailModel): string {
  const c = m.account.currency;
  const h = headline(m);
  const prev = h.previous
    ? `<div style="font-size:14px;margin-top:4px">${esc(signedMoney(h.previous.change, c))}${h.previous.pct ? ` (${esc(h.previous.pct)})` : ''} against ${esc(monthName(h.previous.month))} (${esc(money(h.previous.total, c))})</div>`
    : `<div style="${MUTED};margin-top:4px">No closed month before this one to compare with.</div>`;
  const split =
    `<table cellspacing="0" cellpadding="0" style="margin-top:10px;border-collapse:collapse"><tr>` +
    `<td style="padding:0 18px 0 0;font-size:13px"><div style="${MUTED}">Committed</div><strong>${esc(money(h.committed, c))}</strong></td>` +
    `<td style="padding:0;font-size:13px"><div style="${MUTED}">On-demand</div><strong>${esc(money(h.on_demand, c))}</strong>${h.on_demand_share ? ` <span style="${MUTED}">(${esc(h.on_demand_share)} of the amount)</span>` : ''}</td>` +
    `</tr></table>`;
  const projected =
    m.status === 'provisional' && m.projected
      ? `<p style="font-size:13px;margin:10px 0 0">Projected bill for the month: <strong>${esc(money(m.projected.total, c))}</strong> <span style="${MUTED}">(estimate of ${esc(humanInstant(m.projected.as_of, m.account.timezone))})</span></p>`
      : '';
  const notPriced = h.not_priced.length
    ? `<p style="${MUTED};margin:10px 0 0">Not in the amount: ${h.not_priced.length} product${h.not_priced.length > 1 ? 's have' : ' has'} no price (${esc(h.not_priced.join(', '))}); their usage is listed below.</p>`
    : '';
  return (
    `<div style="${MUTED}">Amount for ${esc(monthName(m.month))}</div>` +
    `<div style="font-size:30px;font-weight:bold;line-height:1.2">${esc(money(h.total, c))}</div>` +
    prev +
    split +
    projected +
    notPriced
  );
}

function restatedHtml(m: MailModel): string {
  const r = restatement(m);
  if (!r) return '';
  const c = m.account.currency;
  const tz = m.account.timezone;
  const why: string[] = [];
  if (r.usage_changed.length)
    why.push(`Usage arrived or changed after version ${r.prior_version} for ${r.usage_changed.join(', ')}.`);
  if (r.moved_by_split.length)
    why.push(
      `${r.moved_by_split.join(', ')} sent no new usage but moved too: a commitment is shared by every org's ` +
        `usage, so when one org's usage changes, each org's committed and on-demand parts are split again.`,
    );
  if (r.contract_changed.length)
    why.push(
      `The contract changed after version ${r.prior_version}: the prices or committed quantities of ` +
        `${r.contract_changed.join(', ')}.`,
    );
  if (!why.length) why.push('No amount changed; only quantities or other figures did.');
  return (
    h2(`What changed since version ${r.prior_version}`) +
    `<p style="font-size:13px;margin:4px 0">Version ${r.prior_version} of ${esc(humanDay(r.prior_computed_at, tz))} said <strong>${esc(money(r.before, c))}</strong>; this version says <strong>${esc(money(r.after, c))}</strong> (${esc(signedMoney(r.change, c))}).</p>` +
    `<p style="font-size:13px;margin:4px 0">${why.map(esc).join(' ')}</p>` +
    (r.orgs.length
      ? table(
          [{ v: 'Org' }, { v: 'Was', num: true }, { v: 'Now', num: true }, { v: 'Change', num: true }],
          r.orgs.map((o) => [
            { v: o.name },
            { v: amount(o.before), num: true },
            { v: amount(o.after), num: true },
            { v: signedAmount(o.change), num: true },
          ]),
          `Per org, in ${c}`,
        )
      : '') +
    (r.products.length
      ? table(
          [{ v: 'Product' }, { v: 'Billable was', num: true }, { v: 'Now', num: true }],
          r.products.map((p) => [
            { v: `${p.usage_type} (${p.unit})` },
            { v: qty(p.before), num: true },
            { v: qty(p.after), num: true },
          ]),
        )
      : '')
  );
}

/**
 * One product is two rows: its name (with unit and committed price) across the table, then its figures. Five
 * number columns fit 400 px; a sixth, for the name, did not.
 */
function productsHtml(m: MailModel): string {
  const c = m.account.currency;
  const num = `${NUM};font-size:12px;border-bottom:1px solid #e2e2e2`;
  const body = productLines(m)
    .map((t) => {
      const notes = [
        t.unit,
        ...(t.priced ? [`committed price ${price(t.committed_price)}`] : []),
        ...(t.allotment_usage !== '0' ? [`incl. ${qty(t.allotment_usage)} allotted`] : []),
      ];
      const cells = [
        qty(t.billable_usage),
        qty(t.included_usage),
        qty(t.on_demand_usage),
        t.priced ? price(t.on_demand_price) : '–',
      ]
        .map((v) => `<td style="${num}">${esc(v)}</td>`)
        .join('');
      const amt = t.priced
        ? `<td style="${num};font-weight:bold">${esc(amount(t.total_cost))}</td>`
        : `<td style="${num};color:#666">${NOT_PRICED}</td>`;
      return (
        `<tr><td colspan="5" style="padding:6px 6px 0;font-size:13px;word-break:break-word"><strong>${esc(t.usage_type)}</strong> <span style="${MUTED}">${esc(notes.join(' · '))}</span></td></tr>` +
        `<tr>${cells}${amt}</tr>`
      );
    })
    .join('');
  const h = headline(m);
  const head = ['Quantity', 'Included', 'On-demand', `Unit price`, `Amount (${c})`]
    .map((x) => `<th style="${HEAD};text-align:right">${esc(x)}</th>`)
    .join('');
  return (
    h2('Product lines') +
    `<table role="table" width="100%" cellspacing="0" cellpadding="0" style="border-collapse:collapse;width:100%;margin:6px 0 4px">` +
    `<thead><tr>${head}</tr></thead><tbody>${body}` +
    `<tr><td colspan="4" style="${CELL};font-weight:bold">Total</td><td style="${NUM};font-weight:bold">${esc(amount(h.total))}</td></tr>` +
    `</tbody></table>` +
    `<p style="${MUTED};margin:2px 0">Amount = committed quantity × committed price + on-demand quantity × unit price (on-demand); included = committed + allotted.</p>`
  );
}

const MAX_ORG_LINES = 30;

function orgsHtml(m: MailModel): string {
  const c = m.account.currency;
  const lines = orgTree(m);
  const prevMonth = m.previous ? monthName(m.previous.month) : undefined;
  const rows = lines.slice(0, MAX_ORG_LINES).map((o): Cell[] => {
    const pad = `padding-left:${6 + o.depth * 14}px`;
    const split = `<div style="${MUTED}">committed ${esc(amount(o.committed))} · on-demand ${esc(amount(o.on_demand))}</div>`;
    const sub = o.subtree
      ? `<div style="${MUTED}">with sub-orgs ${esc(amount(o.subtree.total))}${o.subtree.previous ? ` (was ${esc(amount(o.subtree.previous))})` : ''}</div>`
      : '';
    const tag = o.depth === 0 ? ' (parent)' : o.billable ? '' : ' (trial, not billed)';
    return [
      { v: `${esc(o.name)}<span style="${MUTED}">${esc(tag)}</span>${split}${sub}`, raw: true, style: pad },
      { v: amount(o.total), num: true, style: 'font-weight:bold' },
      ...(prevMonth
        ? [
            { v: amount(o.previous ?? '0'), num: true },
            {
              v: `${esc(signedAmount(o.change ?? '0'))}${o.pct ? `<div style="${MUTED}">${esc(o.pct)}</div>` : ''}`,
              num: true,
              raw: true,
            },
          ]
        : []),
    ];
  });
  return (
    h2('Chargeback by org') +
    table(
      [
        { v: 'Org' },
        { v: 'Amount', num: true },
        ...(prevMonth
          ? [
              { v: shortMonth(m.previous?.month ?? ''), num: true },
              { v: 'Change', num: true },
            ]
          : []),
      ],
      rows,
      `In ${c}. Sub-orgs are indented under their parent.`,
    ) +
    (lines.length > MAX_ORG_LINES
      ? `<p style="${MUTED}">…and ${lines.length - MAX_ORG_LINES} more orgs: see ${esc(m.files.byOrg)}.</p>`
      : '')
  );
}

const signedAmount = (v: string) => (v.startsWith('-') ? amount(v) : v === '0' ? amount(v) : `+${amount(v)}`);

function historyHtml(m: MailModel, withChart: boolean): string {
  const c = m.account.currency;
  const img = withChart
    ? `<img src="cid:${CHART_CID}" width="560" alt="Cost per month for six months, committed and on-demand stacked; the figures are in the table." style="display:block;width:100%;max-width:560px;height:auto;margin:6px 0">`
    : '';
  const rows = m.cost_history.map((h): Cell[] => {
    if (h.committed === null || h.on_demand === null)
      return [
        { v: shortMonth(h.month) },
        { v: 'not closed', num: true, style: 'color:#666' },
        { v: '', num: true },
        { v: '', num: true },
      ];
    const total = amountSum(h.committed, h.on_demand);
    return [
      { v: shortMonth(h.month) },
      { v: amount(h.committed), num: true },
      { v: amount(h.on_demand), num: true },
      { v: amount(total), num: true, style: 'font-weight:bold' },
    ];
  });
  return (
    h2('Cost per month') +
    img +
    table(
      [
        { v: 'Month' },
        { v: 'Committed', num: true },
        { v: 'On-demand', num: true },
        { v: 'Amount', num: true },
      ],
      rows,
      `In ${c}, the latest version of each month.`,
    )
  );
}

const amountSum = (a: string, b: string) => text(add(dec(a), dec(b)));

const MAX_CHANGES = 10;

function changesHtml(m: MailModel): string {
  if (!m.previous) return '';
  const c = m.account.currency;
  const list = costChanges(m.previous.by_org, m.by_org).slice(0, MAX_CHANGES);
  if (!list.length) return '';
  return (
    h2(`Largest changes against ${monthName(m.previous.month)}`) +
    table(
      [{ v: 'Org · product' }, { v: 'Was', num: true }, { v: 'Now', num: true }, { v: 'Change', num: true }],
      list.map((x) => [
        { v: `${esc(x.org_name)}<div style="${MUTED}">${esc(x.usage_type)}</div>`, raw: true },
        { v: amount(x.previous), num: true },
        { v: amount(x.current), num: true },
        {
          v: `${esc(signedAmount(x.change))}${x.pct ? `<div style="${MUTED}">${esc(x.pct)}</div>` : ''}`,
          num: true,
          raw: true,
        },
      ]),
      `In ${c}, by size of the change.`,
    )
  );
}

function tagsHtml(m: MailModel): string {
  if (!m.top_tags.length) return '';
  return (
    h2('Top tag rows by cost') +
    table(
      [{ v: 'Org · product' }, { v: 'Tags' }, { v: `Amount (${m.account.currency})`, num: true }],
      m.top_tags.map((t) => [
        { v: `${esc(t.org_name)}<div style="${MUTED}">${esc(t.usage_type)}</div>`, raw: true },
        { v: tagText(t.tags), style: 'word-break:break-word' },
        { v: amount(t.total_cost), num: true },
      ]),
    )
  );
}

export function renderHtml(m: MailModel, opts: { chart: boolean }): string {
  const files = [m.files.byOrg, m.files.byTag, ...m.files.summaries];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(mailSubject(m))}</title></head>
<body style="margin:0;padding:0;background:#ffffff;color:#1d1d1d;${FONT}">
<div style="max-width:680px;margin:0 auto;padding:14px 12px">
<div style="${MUTED}">orgtally · ${esc(m.account.name)}</div>
<h1 style="font-size:21px;margin:2px 0 0">Month-end ${esc(monthName(m.month))}</h1>
${banner(m)}
${headlineHtml(m)}
${restatedHtml(m)}
${productsHtml(m)}
${orgsHtml(m)}
${historyHtml(m, opts.chart)}
${changesHtml(m)}
${tagsHtml(m)}
<p style="${MUTED};margin-top:26px">Version ${m.version}, computed for ${esc(humanInstant(m.as_of, m.account.timezone))}. Dates in ${esc(m.account.timezone)}. Attached: ${files.map(esc).join(', ')}. Amounts are exact to the cent; org amounts are split with the largest-remainder rule, so they add up to the total.</p>
</div>
</body></html>
`;
}
