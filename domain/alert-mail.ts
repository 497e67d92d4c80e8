import type { AlertKind } from './alerts';
import { isPriced } from './money';
import { changeChart, thresholdChart, type MailChart } from './alert-mail-chart';
import { changeCost, thresholdCost, type CostFigure } from './alert-mail-cost';
import {
  instantWords,
  monthWords,
  noBreaks,
  pluralUnit,
  quantityText,
  shortDay,
  windowWords,
  wrap,
} from './alert-mail-words';
import {
  inUnits,
  monthOf,
  seriesDays,
  str,
  tagWords,
  unitOf,
  who,
  type AlertMailInput,
  type InlineImage,
} from './alert-mail-input';
import { ruleText, sentence } from './alert-mail-sentences';
import { escapeHtml } from './escape';

export type { AlertMailInput, InlineImage } from './alert-mail-input';
export { ruleText } from './alert-mail-sentences';

/**
 * The mail of one alert notice, for a finance reader or an admin at a glance: names (account, org, product with
 * its unit), the window in words in the account's time zone, what it costs, a chart with its figures in a table
 * beside it (readers without images keep every number), and no internal keys (scope or window keys; the rule id
 * only in the footer). Pure: the same input always gives the same bytes.
 */

const WHAT: Record<AlertKind, string> = {
  threshold: 'usage threshold',
  spike: 'usage spike',
  drop: 'usage drop',
  stall: 'data stopped arriving',
};

const HEAD: Record<AlertMailInput['notify'], { word: string; colour: string }> = {
  fire: { word: 'ALERT', colour: '#b00020' },
  renotify: { word: 'STILL FIRING', colour: '#b00020' },
  resolve: { word: 'RESOLVED', colour: '#1a7f37' },
  retract: { word: 'RETRACTED', colour: '#555555' },
};

const STATUS: Record<AlertMailInput['notify'], string> = {
  fire: '',
  renotify: 'The rule still fires: this is a reminder.',
  resolve: 'Resolved: the condition no longer holds.',
  retract:
    'Retracted: restated data shows the rule did not fire for this window after all; disregard the earlier alert.',
};

const BILLED_ON: Record<string, string> = {
  sum: "billed on the month's sum",
  avg: "billed on the month's hourly average",
  max: "billed on the month's peak hour",
  p99: "billed on the month's 99th-percentile hour",
  last: "billed on the month's last value",
};

export function alertCost(e: AlertMailInput): CostFigure | null {
  if (!e.product) return null;
  const currency = e.account.currency;
  // The overage is billed at the account: a notice that watches one org (whose recipients may be that client)
  // never shows the whole account's projection, included quantity or overage.
  if (e.kind === 'threshold' && e.orgName !== undefined && e.price && isPriced(e.price))
    return {
      headline: 'billed with the account',
      detail:
        'Cost: on-demand is billed on the whole account, not one org; this notice watches one org, so no ' +
        "account figures are shown (the month-end chargeback gives the org's share).",
    };
  if (e.kind === 'threshold')
    return thresholdCost({
      product: e.product,
      price: e.price,
      estimate: e.estimate ?? null,
      month: monthOf(e),
      currency,
    });
  if (e.kind === 'spike' || e.kind === 'drop')
    return changeCost({ product: e.product, price: e.price, change: str(e.evaluation.change), currency });
  return null;
}

/** The chart of the notice, or null (stall, or no series). */
export function alertChart(e: AlertMailInput): MailChart | null {
  const u = unitOf(e);
  if (e.kind === 'threshold' && e.month)
    return thresholdChart({
      monthDays: e.month.days,
      points: e.month.points,
      measure: e.evaluation.measure === 'projected' ? 'projected' : 'mtd',
      limit: str(e.evaluation.limit),
      included: e.estimate?.included ?? null,
      unit: u,
      monthLabel: monthWords(e.month.month),
    });
  if ((e.kind === 'spike' || e.kind === 'drop') && e.days)
    return changeChart({
      days: seriesDays(e.days),
      baseline: str(e.evaluation.baseline),
      baselineDays: Number(e.evaluation.baselineDays ?? 0),
      unit: u,
      kind: e.kind,
    });
  return null;
}

// --------------------------------------------------------------------------------------------------- figures

type Row = [string, string];

function facts(e: AlertMailInput, cost: CostFigure | null): Row[] {
  const tz = e.account.timezone;
  const rows: Row[] = [];
  if (cost) rows.push(['Cost', cost.headline]);
  rows.push(['Account', e.account.name]);
  rows.push([
    'Org',
    e.orgName ?? (e.kind === 'threshold' ? 'the whole account (billable orgs)' : 'every org'),
  ]);
  if (e.product)
    rows.push([
      'Product',
      `${e.product.code}, in ${pluralUnit(e.product.unit)}${BILLED_ON[e.product.aggregation] ? `, ${BILLED_ON[e.product.aggregation]}` : ''}`,
    ]);
  if (e.tags.length) rows.push(['Tags', e.tags.join(', ')]);
  rows.push(['Window', windowWords(e.kind, e.window, tz)]);
  rows.push(['Evaluated at', instantWords(e.asOf, tz)]);
  if (e.dataCompleteThrough)
    rows.push([
      'Data complete through',
      `${instantWords(e.dataCompleteThrough, tz)} (${e.account.latenessHours} h lateness window)`,
    ]);
  rows.push([
    'Rule',
    ruleText(e.rule, {
      unit: unitOf(e),
      ...(e.orgName ? { orgName: e.orgName } : {}),
      latenessHours: e.account.latenessHours,
    }),
  ]);
  return rows;
}

interface Table {
  caption: string;
  head: string[];
  rows: string[][];
  /** Index of a row to emphasise (the day judged, the latest point). */
  strong?: number;
}

function seriesTable(e: AlertMailInput): Table | null {
  const u = unitOf(e);
  if (e.kind === 'threshold' && e.month && e.month.points.length) {
    const pts = e.month.points;
    return {
      caption: `${monthWords(e.month.month)} by day${inUnits(u)}`,
      head: ['Day', 'Month to date', 'Projected'],
      rows: pts.map((p) => [
        `${shortDay(p.day, { year: false })}${p.through ? ` (to ${p.through})` : ''}`,
        quantityText(p.mtd),
        quantityText(p.projected),
      ]),
      strong: pts.length - 1,
    };
  }
  if ((e.kind === 'spike' || e.kind === 'drop') && e.days && e.days.length) {
    const days = seriesDays(e.days);
    const baseline = str(e.evaluation.baseline);
    const rows = days.map((d) => [
      shortDay(d.day, { year: false }),
      d.value === null ? '–' : quantityText(d.value),
    ]);
    if (baseline !== null)
      rows.push([`Median of the ${String(e.evaluation.baselineDays)} days before`, quantityText(baseline)]);
    return {
      caption: `Daily usage${inUnits(u)}`,
      head: ['Day', 'Usage'],
      rows,
      strong: days.length - 1,
    };
  }
  return null;
}

const FOOTER = 'Figures are provisional estimates from the usage received so far (orgtally).';

// ------------------------------------------------------------------------------------------------------ mail

export function alertSubject(e: AlertMailInput, cost: CostFigure | null = alertCost(e)): string {
  const tz = e.account.timezone;
  const code = e.product ? `${e.product.code}${tagWords(e.tags)}` : '';
  let about: string;
  if (e.kind === 'threshold') about = `${code} for ${who(e)}, ${windowWords('threshold', e.window, tz)}`;
  else if (e.kind === 'spike' || e.kind === 'drop')
    about = `${code} at ${who(e)} on ${/^\d{4}-\d{2}-\d{2}$/.test(e.window) ? shortDay(e.window) : e.window}`;
  else
    about = `${who(e)}${code ? ` (${code})` : ''} ${windowWords('stall', e.window, tz).replace(/ \(the last hour with data\)$/, '')}`;
  const money =
    (e.notify === 'fire' || e.notify === 'renotify') && cost?.amount !== undefined
      ? `: ${cost.headline}`
      : '';
  return `[orgtally] ${HEAD[e.notify].word} ${e.account.name}: ${WHAT[e.kind]} — ${about}${money}`;
}

/** The text part: every line under 100 columns. */
function textPart(e: AlertMailInput, cost: CostFigure | null, rows: Row[], table: Table | null): string {
  const out: string[] = [`${HEAD[e.notify].word}: ${WHAT[e.kind]}`, ''];
  out.push(...wrap(sentence(e), 96), '');
  if (STATUS[e.notify]) out.push(...wrap(STATUS[e.notify], 96), '');
  if (cost) out.push(...wrap(cost.detail, 96), '');
  const w = Math.max(...rows.map(([k]) => k.length)) + 2;
  for (const [k, v] of rows) {
    const lines = wrap(v, 96 - w);
    out.push(`${`${k}:`.padEnd(w)}${lines[0] ?? ''}`, ...lines.slice(1).map((l) => `${' '.repeat(w)}${l}`));
  }
  if (table) {
    out.push('', `${table.caption}:`);
    const widths = table.head.map((h, i) =>
      Math.max(h.length, ...table.rows.map((r) => (r[i] ?? '').length)),
    );
    const line = (cells: string[]) =>
      `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('   ')}`.trimEnd();
    out.push(line(table.head), ...table.rows.map(line));
  }
  out.push('', ...wrap(FOOTER, 96), `rule ${e.ruleId}`);
  return `${out.join('\n')}\n`;
}

/** Text for HTML: escaped, and unbreakable between a number and its unit. */
const h = (s: string): string => escapeHtml(noBreaks(s));

const TD = 'padding:3px 8px 3px 0;border-bottom:1px solid #e5e5e5;vertical-align:top;font-size:13px';

function htmlTable(t: Table): string {
  const cell = (c: string, i: number, tag: 'th' | 'td', strong: boolean) =>
    `<${tag} style="${TD};${i ? 'text-align:right;' : 'text-align:left;'}${tag === 'th' ? 'color:#555;font-weight:normal;' : ''}${strong ? 'font-weight:bold;' : ''}">${h(c)}</${tag}>`;
  return (
    `<table cellspacing="0" cellpadding="0" style="border-collapse:collapse;width:100%;margin:4px 0 16px">` +
    `<caption style="text-align:left;font-size:13px;font-weight:bold;padding:0 0 4px">${h(t.caption)}</caption>` +
    `<tr>${t.head.map((h, i) => cell(h, i, 'th', false)).join('')}</tr>` +
    t.rows
      .map((r, ri) => `<tr>${r.map((c, i) => cell(c, i, 'td', ri === t.strong)).join('')}</tr>`)
      .join('') +
    `</table>`
  );
}

function htmlPart(
  e: AlertMailInput,
  subject: string,
  cost: CostFigure | null,
  rows: Row[],
  table: Table | null,
  image: InlineImage | undefined,
): string {
  const head = HEAD[e.notify];
  const title = `${e.product ? `${e.product.code}${tagWords(e.tags)} · ` : ''}${e.orgName ?? 'whole account'}`;
  const facts = rows
    .filter(([k]) => k !== 'Cost')
    .map(
      ([k, v]) =>
        `<tr><th style="${TD};text-align:left;color:#555;font-weight:normal;white-space:nowrap">${h(k)}</th>` +
        `<td style="${TD}">${h(v)}</td></tr>`,
    )
    .join('');
  const costBox = cost
    ? `<div style="margin:0 0 16px;padding:8px 12px;background:#fff6e5;border-left:4px solid #E69F00">` +
      `<div style="font-size:16px;font-weight:bold">${h(cost.headline.replace(/^./, (c) => c.toUpperCase()))}</div>` +
      `<div style="font-size:13px;margin-top:2px">${h(cost.detail)}</div></div>`
    : '';
  const img = image
    ? `<img src="cid:${escapeHtml(image.cid)}" width="${image.width}" height="${image.height}" alt="${h(image.alt)}" ` +
      `style="display:block;width:100%;max-width:${image.width}px;height:auto;border:0;margin:0 0 8px">`
    : '';
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${h(subject)}</title></head>` +
    `<body style="margin:0;padding:0;background:#ffffff">` +
    `<div style="max-width:600px;margin:0 auto;padding:16px;font-family:Helvetica,Arial,sans-serif;color:#222;font-size:14px;line-height:1.4">` +
    `<div style="font-size:12px;font-weight:bold;letter-spacing:0.05em;color:${head.colour}">${h(`${head.word} · ${WHAT[e.kind]}`)}</div>` +
    `<h1 style="margin:2px 0 8px;font-size:20px;line-height:1.25;word-break:break-word">${h(title)}</h1>` +
    `<p style="margin:0 0 12px">${h(sentence(e))}</p>` +
    (STATUS[e.notify] ? `<p style="margin:0 0 12px;font-weight:bold">${h(STATUS[e.notify])}</p>` : '') +
    costBox +
    img +
    (table ? htmlTable(table) : '') +
    `<table cellspacing="0" cellpadding="0" style="border-collapse:collapse;width:100%;margin:0 0 16px">${facts}</table>` +
    `<p style="margin:0;font-size:12px;color:#666">${h(FOOTER)}<br>rule ${escapeHtml(e.ruleId)}</p>` +
    `</div></body></html>`
  );
}

/** Subject, text and HTML of the notice; `image` is the chart attached inline (cid) when there is one. */
export function renderAlertMail(
  e: AlertMailInput,
  image?: InlineImage,
): { subject: string; text: string; html: string } {
  const cost = alertCost(e);
  const rows = facts(e, cost);
  const table = seriesTable(e);
  const subject = alertSubject(e, cost);
  return {
    subject,
    text: textPart(e, cost, rows, table),
    html: htmlPart(e, subject, cost, rows, table, image),
  };
}
