import { add, cmp, dec, divRound, sub, sum, text, ZERO, type Dec } from './exact';
import { sparkline } from './trends';
import { escapeHtml as esc } from './escape';

/** The month-end report's rows (decimal strings, Datadog's field names) and the finance mail rendered from them. */

export interface TotalRow {
  usage_type: string;
  unit: string;
  aggregation: string;
  total_usage: string;
  billable_usage: string;
  committed_usage: string;
  allotment_usage: string;
  included_usage: string;
  on_demand_usage: string;
  committed_cost: string;
  on_demand_cost: string;
  total_cost: string;
}

export interface OrgRow {
  public_id: string;
  org_name: string;
  billable: boolean;
  usage_type: string;
  total_usage: string;
  billable_usage: string;
  committed_usage: string;
  on_demand_usage: string;
  percentage_in_account: string;
  committed_cost: string;
  on_demand_cost: string;
  total_cost: string;
}

export interface TagRow {
  public_id: string;
  org_name: string;
  usage_type: string;
  tags: Record<string, string[] | null>;
  total_usage: string;
  billable_usage: string;
  committed_usage: string;
  on_demand_usage: string;
  percentage_in_org: string;
  percentage_in_account: string;
  committed_cost: string;
  on_demand_cost: string;
  total_cost: string;
}

export interface ChangeRow {
  public_id?: string;
  usage_type: string;
  field: string;
  from: string;
  to: string;
}

export interface TrendSection {
  months: string[];
  /** The account's billable value per product, oldest month first (null: month not closed). */
  account: { usage_type: string; unit: string; values: (string | null)[] }[];
  movers: {
    usage_type: string;
    kind: string;
    public_id: string;
    org_name: string;
    previous: string | null;
    current: string | null;
    abs: string;
    pct: string | null;
  }[];
}

export interface MailModel {
  account: { id: string; name: string; timezone: string };
  month: string;
  version: number;
  status: 'provisional' | 'final';
  data_complete_through: string;
  /** The instant the figures were computed for (the close's as-of): the report is the same bytes on any re-run. */
  as_of: string;
  tag_keys: string[];
  totals: TotalRow[];
  by_org: OrgRow[];
  top_tags: TagRow[];
  changes: ChangeRow[];
  previous?: { month: string; version: number; totals: TotalRow[] };
  trends?: TrendSection;
  files: MonthEndFileNames;
}

export interface MonthEndFileNames {
  byOrg: string;
  byTag: string;
  summaries: string[];
}

export function monthEndFileNames(
  accountId: string,
  month: string,
  tagKeys: readonly string[],
): MonthEndFileNames {
  return {
    byOrg: `month_end_${accountId}_${month}_by_org.csv`,
    byTag: `month_end_${accountId}_${month}_by_tag.csv`,
    summaries: tagKeys.map((k) => `summary_${k}_${month}.tsv`),
  };
}

export function mailSubject(m: Pick<MailModel, 'account' | 'month' | 'version' | 'status'>): string {
  const what = m.version > 1 ? `restated (version ${m.version}, ${m.status})` : m.status;
  return `[orgtally] ${m.account.name}: month-end ${m.month}, ${what}`;
}

/** Thousands separators for display; the exact value is kept (attachments carry the raw decimals). */
export function formatNumber(v: string, decimals?: number): string {
  const d = decimals === undefined ? dec(v) : divRound(dec(v), dec(1), decimals);
  const t = decimals === undefined ? text(d) : fixed(d, decimals);
  const [int, frac] = t.split('.');
  const neg = (int ?? '').startsWith('-');
  const digits = (int ?? '').replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${digits}${frac !== undefined ? `.${frac}` : ''}`;
}

function fixed(d: Dec, decimals: number): string {
  const t = text(d);
  const [i, f = ''] = t.split('.');
  return decimals ? `${i}.${f.padEnd(decimals, '0')}` : (i as string);
}

/** Month-over-month change: absolute and percent, or "new" when the previous value was 0 or absent. */
export function change(prev: string | undefined, cur: string): { abs: string; pct: string } {
  const p = dec(prev ?? '0');
  const c = dec(cur);
  const d = sub(c, p);
  if (cmp(p, ZERO) === 0) return { abs: text(d), pct: cmp(c, ZERO) === 0 ? '0 %' : 'new' };
  return { abs: text(d), pct: `${text(divRound({ n: d.n * 100n, s: d.s }, p, 1))} %` };
}

export interface OrgSummary {
  public_id: string;
  org_name: string;
  billable: boolean;
  total_cost: string;
  share_of_cost: string;
  products: number;
}

/** Per org: Σ cost over products and the share of the account's cost (one decimal, display only). */
export function orgSummaries(
  rows: readonly Pick<OrgRow, 'public_id' | 'org_name' | 'billable' | 'total_cost'>[],
): OrgSummary[] {
  const byOrg = new Map<string, Pick<OrgRow, 'public_id' | 'org_name' | 'billable' | 'total_cost'>[]>();
  for (const r of rows) {
    const list = byOrg.get(r.public_id);
    if (list) list.push(r);
    else byOrg.set(r.public_id, [r]);
  }
  const account = sum(rows.map((r) => dec(r.total_cost)));
  return [...byOrg.values()]
    .map((list) => {
      const first = list[0] as (typeof list)[number];
      const cost = sum(list.map((r) => dec(r.total_cost)));
      return {
        public_id: first.public_id,
        org_name: first.org_name,
        billable: first.billable,
        total_cost: text(cost),
        share_of_cost: account.n === 0n ? '0' : text(divRound({ n: cost.n * 100n, s: cost.s }, account, 1)),
        products: list.length,
        cost,
      };
    })
    .sort((a, b) => cmp(b.cost, a.cost) || (a.public_id < b.public_id ? -1 : 1))
    .map(({ cost: _cost, ...o }) => o);
}

const tagText = (tags: Record<string, string[] | null>) =>
  Object.entries(tags)
    .map(([k, v]) => `${k}:${v === null ? '(untagged)' : v.map((x) => (x === '' ? '<empty>' : x)).join('|')}`)
    .join(' ');

const MAX_ORGS = 25;

function statusLine(m: MailModel): string {
  return m.status === 'final'
    ? `Final: all data through ${m.data_complete_through} is in.`
    : `Provisional: data may still arrive; complete through ${m.data_complete_through}.`;
}

function accountCost(m: MailModel): Dec {
  return m.totals.reduce((a, t) => add(a, dec(t.total_cost)), ZERO);
}

/** The HTML part: inline styles only, no scripts, tables that render in common mail clients. */
export function renderHtml(m: MailModel): string {
  const th = (cells: string[]) =>
    `<tr>${cells.map((c) => `<th style="text-align:left;padding:4px 8px;border-bottom:2px solid #333;font-size:12px">${esc(c)}</th>`).join('')}</tr>`;
  const td = (cells: string[], right = new Set<number>()) =>
    `<tr>${cells.map((c, i) => `<td style="padding:3px 8px;border-bottom:1px solid #ddd;font-size:12px;${right.has(i) ? 'text-align:right;' : ''}">${esc(c)}</td>`).join('')}</tr>`;
  const table = (head: string[], rows: string[][], right: number[]) =>
    `<table cellspacing="0" cellpadding="0" style="border-collapse:collapse;margin:8px 0 16px">${th(head)}${rows.map((r) => td(r, new Set(right))).join('')}</table>`;
  const prev = new Map((m.previous?.totals ?? []).map((t) => [t.usage_type, t]));
  const totalsRows = m.totals.map((t) => {
    const mom = m.previous ? change(prev.get(t.usage_type)?.billable_usage, t.billable_usage) : undefined;
    return [
      t.usage_type,
      t.unit,
      t.aggregation,
      formatNumber(t.total_usage),
      formatNumber(t.billable_usage),
      formatNumber(t.included_usage),
      formatNumber(t.on_demand_usage),
      formatNumber(t.total_cost, 2),
      mom ? `${formatNumber(mom.abs)} (${mom.pct})` : '–',
    ];
  });
  const orgs = orgSummaries(m.by_org);
  const orgRows = orgs
    .slice(0, MAX_ORGS)
    .map((o) => [
      o.org_name,
      o.public_id,
      o.billable ? 'yes' : 'no (trial)',
      String(o.products),
      formatNumber(o.total_cost, 2),
      `${o.share_of_cost} %`,
    ]);
  const tagRows = m.top_tags.map((t) => [
    t.org_name,
    t.usage_type,
    tagText(t.tags),
    formatNumber(t.total_usage),
    `${t.percentage_in_org} %`,
    formatNumber(t.total_cost, 2),
  ]);
  const restated =
    m.version > 1
      ? `<h3 style="margin:16px 0 4px">Restated: what changed since version ${m.version - 1}</h3>` +
        (m.changes.length
          ? table(
              ['org', 'product', 'figure', 'was', 'now'],
              m.changes.map((c) => [c.public_id ?? 'account', c.usage_type, c.field, c.from, c.to]),
              [3, 4],
            )
          : '<p>No figure changed.</p>')
      : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(mailSubject(m))}</title></head>
<body style="font-family:Helvetica,Arial,sans-serif;color:#222;margin:0;padding:16px">
<h2 style="margin:0 0 4px">${esc(m.account.name)}: month-end ${esc(m.month)}</h2>
<p style="margin:0 0 12px;font-size:13px">Version ${m.version} · ${esc(statusLine(m))} As of ${esc(m.as_of)}. Times in ${esc(m.account.timezone)}.</p>
<p style="font-size:14px"><strong>Total cost: ${esc(formatNumber(text(accountCost(m)), 2))}</strong></p>
${restated}
<h3 style="margin:16px 0 4px">Totals per product</h3>
${table(['product', 'unit', 'rule', 'usage (all)', 'billable', 'included', 'on-demand', 'cost', `billable vs ${m.previous?.month ?? 'previous month'}`], totalsRows, [3, 4, 5, 6, 7, 8])}
<h3 style="margin:16px 0 4px">Per child org</h3>
${table(['org', 'public id', 'billable', 'products', 'cost', 'share of cost'], orgRows, [3, 4, 5])}
${orgs.length > MAX_ORGS ? `<p style="font-size:12px">…and ${orgs.length - MAX_ORGS} more orgs: see ${esc(m.files.byOrg)}.</p>` : ''}
${m.trends ? trendHtml(m.trends, table) : ''}
<h3 style="margin:16px 0 4px">Top tag rows by cost</h3>
${tagRows.length ? table(['org', 'product', 'tags', 'usage', '% of org', 'cost'], tagRows, [3, 4, 5]) : '<p>No tag rows.</p>'}
<p style="font-size:12px;color:#555">Attached: ${[m.files.byOrg, m.files.byTag, ...m.files.summaries].map(esc).join(', ')}. Quantities and money are exact decimals; money is rounded to cents and split with the largest-remainder rule, so rows add up to the totals.</p>
</body></html>
`;
}

/** The plain-text part: the same facts, aligned columns. */
export function renderText(m: MailModel): string {
  const pad = (rows: string[][]) => {
    const w = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    return rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(w[i] as number))
          .join('  ')
          .trimEnd(),
      )
      .join('\n');
  };
  const prev = new Map((m.previous?.totals ?? []).map((t) => [t.usage_type, t]));
  const lines = [
    `${m.account.name}: month-end ${m.month}`,
    `Version ${m.version}. ${statusLine(m)} As of ${m.as_of}. Times in ${m.account.timezone}.`,
    `Total cost: ${formatNumber(text(accountCost(m)), 2)}`,
    '',
  ];
  if (m.version > 1) {
    lines.push(`Restated: what changed since version ${m.version - 1}`);
    lines.push(
      m.changes.length
        ? pad([
            ['org', 'product', 'figure', 'was', 'now'],
            ...m.changes.map((c) => [c.public_id ?? 'account', c.usage_type, c.field, c.from, c.to]),
          ])
        : 'No figure changed.',
      '',
    );
  }
  if (m.trends) lines.push(...trendText(m.trends));
  lines.push(
    'Totals per product',
    pad([
      ['product', 'unit', 'usage (all)', 'billable', 'included', 'on-demand', 'cost', 'billable m/m'],
      ...m.totals.map((t) => {
        const mom = m.previous ? change(prev.get(t.usage_type)?.billable_usage, t.billable_usage) : undefined;
        return [
          t.usage_type,
          t.unit,
          formatNumber(t.total_usage),
          formatNumber(t.billable_usage),
          formatNumber(t.included_usage),
          formatNumber(t.on_demand_usage),
          formatNumber(t.total_cost, 2),
          mom ? `${formatNumber(mom.abs)} (${mom.pct})` : '-',
        ];
      }),
    ]),
    '',
    'Per child org',
    pad([
      ['org', 'public id', 'billable', 'cost', 'share'],
      ...orgSummaries(m.by_org)
        .slice(0, MAX_ORGS)
        .map((o) => [
          o.org_name,
          o.public_id,
          o.billable ? 'yes' : 'no',
          formatNumber(o.total_cost, 2),
          `${o.share_of_cost} %`,
        ]),
    ]),
    '',
    `Attached: ${[m.files.byOrg, m.files.byTag, ...m.files.summaries].join(', ')}`,
    '',
  );
  return lines.join('\n');
}

const BAR_PX = 220;

/**
 * The six-month section: per product, a bar per month drawn with table cells (width and bgcolor attributes),
 * which every common mail client renders; no image, no script. Then the top movers among child orgs.
 */
function trendHtml(
  t: TrendSection,
  table: (head: string[], rows: string[][], right: number[]) => string,
): string {
  const products = t.account.filter((p) => p.values.some((v) => v !== null && cmp(dec(v), ZERO) > 0));
  const chart = products
    .map((p) => {
      const max = p.values.reduce((a, v) => (v !== null && cmp(dec(v), a) > 0 ? dec(v) : a), ZERO);
      const rows = p.values
        .map((v, i) => {
          const px =
            v === null || max.n === 0n
              ? 0
              : Math.max(1, Number(divRound({ n: dec(v).n * BigInt(BAR_PX), s: dec(v).s }, max, 0).n));
          const bar =
            v === null
              ? '<td style="font-size:11px;color:#999;padding:1px 4px">not closed</td>'
              : `<td style="padding:1px 4px"><table cellspacing="0" cellpadding="0"><tr><td width="${px}" height="12" bgcolor="#3b6fc4" style="background:#3b6fc4;font-size:1px;line-height:1px">&nbsp;</td></tr></table></td>`;
          return `<tr><td style="font-size:11px;padding:1px 6px 1px 0;color:#555">${esc(t.months[i] ?? '')}</td>${bar}<td style="font-size:11px;text-align:right;padding:1px 4px">${v === null ? '' : esc(formatNumber(v))}</td></tr>`;
        })
        .join('');
      return `<tr><td style="vertical-align:top;padding:6px 12px 6px 0;font-size:12px"><strong>${esc(p.usage_type)}</strong><br><span style="color:#777">${esc(p.unit)}, billable</span></td><td style="padding:6px 0"><table cellspacing="0" cellpadding="0">${rows}</table></td></tr>`;
    })
    .join('');
  const movers = t.movers.filter((x) => x.kind === 'increase' || x.kind === 'decrease');
  return `<h3 style="margin:16px 0 4px">Six months (${esc(t.months[0] ?? '')} to ${esc(t.months[t.months.length - 1] ?? '')})</h3>
<table cellspacing="0" cellpadding="0" style="margin:4px 0 12px">${chart}</table>
${
  movers.length
    ? `<p style="font-size:12px;margin:4px 0">Largest changes among client orgs, last month to this one (billable):</p>` +
      table(
        ['product', 'org', 'was', 'now', 'change', '%'],
        movers.map((x) => [
          x.usage_type,
          x.org_name || x.public_id,
          x.previous === null ? '–' : formatNumber(x.previous),
          x.current === null ? '–' : formatNumber(x.current),
          formatNumber(x.abs),
          x.pct === null ? 'new' : `${x.pct} %`,
        ]),
        [2, 3, 4, 5],
      )
    : ''
}`;
}

function trendText(t: TrendSection): string[] {
  const products = t.account.filter((p) => p.values.some((v) => v !== null && cmp(dec(v), ZERO) > 0));
  const w = Math.max(...products.map((p) => p.usage_type.length), 7);
  return [
    `Six months, billable (${t.months[0]} to ${t.months[t.months.length - 1]})`,
    ...products.map(
      (p) =>
        `${p.usage_type.padEnd(w)}  ${sparkline(p.values)}  ${p.values.map((v) => (v === null ? '-' : formatNumber(v))).join(' | ')}`,
    ),
    '',
  ];
}
