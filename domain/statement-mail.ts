import { escapeHtml as esc } from './escape';
import { monthName } from './human-time';
import { NOT_PRICED } from './money';
import {
  amountOf,
  statementFigures,
  statementNote,
  statementOrgName,
  statementStatus,
  statementSubject,
  unitPrice,
  withUnit,
  type StatementFigures,
  type StatementLine,
  type StatementModel,
  type StatementSection,
} from './statement';

/** The statement mail's two parts, rendered from the model alone: the same model gives the same bytes. */

/** Text lines stay under 100 columns (RFC 5322 recommends 78; mail clients wrap longer lines badly). */
export const TEXT_WIDTH = 99;

const FOOTNOTE =
  'Quantities are exact; amounts are in cents, shared out so that the lines add up to the totals.';

function notPricedNote(f: StatementFigures): string | undefined {
  if (!f.not_priced.length) return undefined;
  return `Not priced: ${f.not_priced.join(', ')} (no price in the contract; in no amount or total).`;
}

export interface RenderedStatement {
  subject: string;
  text: string;
  html: string;
}

export function renderStatement(m: StatementModel): RenderedStatement {
  const f = statementFigures(m);
  return { subject: statementSubject(m), text: renderText(m, f), html: renderHtml(m, f) };
}

const money = (l: StatementLine, v: string, currency: string) =>
  l.priced ? amountOf(v, currency) : NOT_PRICED;

/** The detail of one product line, as label / value pairs (both parts show the same facts). */
function details(l: StatementLine, currency: string): [string, string][] {
  const out: [string, string][] = [];
  if (!l.billable) out.push(['usage', `${withUnit(l.total_usage, l.unit)}, not billed (trial org)`]);
  out.push(['committed', `${withUnit(l.committed_usage, l.unit)}, ${money(l, l.committed_cost, currency)}`]);
  out.push(['on-demand', `${withUnit(l.on_demand_usage, l.unit)}, ${money(l, l.on_demand_cost, currency)}`]);
  out.push([
    'unit price',
    l.priced
      ? `${unitPrice(l.committed_price, currency)} committed, ${unitPrice(l.on_demand_price, currency)} on-demand` +
        (l.unit ? `, per ${l.unit}` : '')
      : NOT_PRICED,
  ]);
  return out;
}

/** Words wrapped to the width; continuation lines keep the line's indent plus two spaces. */
export function wrap(line: string, width = TEXT_WIDTH): string[] {
  if (line.length <= width) return [line];
  const indent = /^ */.exec(line)?.[0] ?? '';
  const out: string[] = [];
  let cur = '';
  // an amount stays whole: its currency code never ends a line
  const words = line
    .slice(indent.length)
    .split(' ')
    .reduce<string[]>((acc, w) => {
      const last = acc[acc.length - 1];
      if (last !== undefined && /^[A-Z]{3}$/.test(last) && /^-?\d/.test(w))
        acc[acc.length - 1] = `${last} ${w}`;
      else acc.push(w);
      return acc;
    }, []);
  for (const word of words) {
    const lead = out.length ? `${indent}  ` : indent;
    if (cur && `${cur} ${word}`.length > width) {
      out.push(cur);
      cur = `${indent}  ${word}`;
    } else cur = cur ? `${cur} ${word}` : `${lead}${word}`;
  }
  if (cur) out.push(cur);
  // A single word longer than the width (a very long name) is cut, never left over the limit.
  return out.flatMap((l) => {
    const parts: string[] = [];
    for (let s = l; s.length; s = s.length > width ? `${indent}  ${s.slice(width)}` : '')
      parts.push(s.slice(0, width));
    return parts;
  });
}

function renderText(m: StatementModel, f: StatementFigures): string {
  const c = m.currency;
  const multi = f.sections.length > 1;
  // [left, right] rows share one right-aligned amount column; plain rows are text.
  const rows: (string | [string, string])[] = [
    `${statementOrgName(m)}: statement for ${monthName(m.month)}`,
    statementStatus(m),
    `Amounts in ${c}. Version ${m.version} of the month's figures.`,
  ];
  const note = statementNote(m);
  if (note) rows.push(note);
  for (const s of f.sections) {
    const pad = '  '.repeat(Math.min(s.depth, 3));
    rows.push('', `${pad}${s.name} (${s.public_id})`);
    if (!s.lines.length) rows.push(`${pad}  No usage in ${monthName(m.month)}.`);
    for (const l of s.lines) {
      rows.push([`${pad}  ${l.usage_type}: ${withUnit(l.quantity, l.unit)}`, money(l, l.amount, c)]);
      for (const [k, v] of details(l, c)) rows.push(`${pad}      ${k.padEnd(12)}${v}`);
    }
    if (multi) rows.push([`${pad}  Subtotal ${s.name}`, amountOf(s.subtotal, c)]);
  }
  rows.push('', ['Total', amountOf(f.total, c)], '');
  const np = notPricedNote(f);
  if (np) rows.push(np);
  rows.push(FOOTNOTE, '');
  const pairs = rows.filter((r): r is [string, string] => Array.isArray(r));
  const right = Math.max(...pairs.map(([, r]) => r.length));
  const col = Math.min(TEXT_WIDTH, Math.max(...pairs.map(([l]) => l.length + 2 + right)));
  return rows
    .flatMap((r) => {
      if (!Array.isArray(r)) return wrap(r);
      const [l, v] = r;
      if (l.length + 2 + v.length <= col) return [`${l.padEnd(col - v.length)}${v}`];
      return [...wrap(l), v.padStart(col)];
    })
    .map((l) => l.trimEnd())
    .join('\n');
}

const FONT = 'font-family:Helvetica,Arial,sans-serif';
const CELL = 'padding:8px 0;border-top:1px solid #ddd;vertical-align:top';
const AMOUNT = 'padding:8px 0 8px 12px;text-align:right;vertical-align:top;white-space:nowrap';

const nowrap = (s: string) => `<span style="white-space:nowrap">${esc(s)}</span>`;

function lineHtml(l: StatementLine, c: string): string {
  const detail = details(l, c)
    // each phrase kept on one line: a narrow screen breaks between phrases, never inside "on-demand"
    .map(([k, v]) => `<span style="color:#666">${esc(k)}:</span> ${v.split(', ').map(nowrap).join(', ')}`)
    .join('<br>');
  return (
    `<tr><td style="${CELL}"><strong style="word-break:break-word">${esc(l.usage_type)}</strong> ` +
    `${esc(withUnit(l.quantity, l.unit))}` +
    `<div style="font-size:12px;line-height:1.5;color:#333;margin-top:2px">${detail}</div></td>` +
    `<td style="${AMOUNT};border-top:1px solid #ddd;${l.priced ? 'font-weight:bold' : 'color:#666'}">` +
    `${esc(money(l, l.amount, c))}</td></tr>`
  );
}

function sectionHtml(s: StatementSection, m: StatementModel, multi: boolean): string {
  const c = m.currency;
  const indent = Math.min(s.depth, 3) * 12;
  const body = s.lines.length
    ? s.lines.map((l) => lineHtml(l, c)).join('')
    : `<tr><td colspan="2" style="${CELL};color:#666">No usage in ${esc(monthName(m.month))}.</td></tr>`;
  const subtotal = multi
    ? `<tr><td style="padding:8px 0;border-top:2px solid #999">Subtotal ${esc(s.name)}</td>` +
      `<td style="${AMOUNT};border-top:2px solid #999;font-weight:bold">${esc(amountOf(s.subtotal, c))}</td></tr>`
    : '';
  return (
    `<div style="margin:20px 0 0 ${indent}px${s.depth ? ';border-left:3px solid #d5dbe8;padding-left:10px' : ''}">` +
    `<h2 style="font-size:16px;margin:0 0 4px">${esc(s.name)} ` +
    `<span style="font-size:12px;font-weight:normal;color:#666">${esc(s.public_id)}</span></h2>` +
    `<table role="presentation" width="100%" cellspacing="0" cellpadding="0" ` +
    `style="border-collapse:collapse;width:100%;font-size:14px">${body}${subtotal}</table></div>`
  );
}

function renderHtml(m: StatementModel, f: StatementFigures): string {
  const c = m.currency;
  const note = statementNote(m);
  const np = notPricedNote(f);
  const multi = f.sections.length > 1;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(statementSubject(m))}</title></head>
<body style="margin:0;padding:0;background:#f4f5f7;${FONT};color:#222">
<div style="max-width:640px;margin:0 auto;padding:16px;background:#fff">
<h1 style="font-size:20px;margin:0 0 4px">${esc(statementOrgName(m))}</h1>
<p style="font-size:15px;margin:0 0 8px">Statement for ${esc(monthName(m.month))}</p>
<p style="font-size:13px;margin:0 0 4px"><strong>${esc(statementStatus(m))}</strong></p>
<p style="font-size:13px;margin:0 0 4px;color:#444">Amounts in ${esc(c)}. Version ${m.version} of the month's figures.</p>
${note ? `<p style="font-size:13px;margin:8px 0;padding:8px;background:#fff4d6;border-left:3px solid #d9a400">${esc(note)}</p>\n` : ''}${f.sections.map((s) => sectionHtml(s, m, multi)).join('\n')}
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="border-collapse:collapse;width:100%;margin-top:20px;font-size:17px">
<tr><td style="padding:10px 0;border-top:3px solid #222"><strong>Total</strong></td><td style="${AMOUNT};border-top:3px solid #222;font-weight:bold">${esc(amountOf(f.total, c))}</td></tr>
</table>
${np ? `<p style="font-size:12px;color:#555;margin:12px 0 0">${esc(np)}</p>\n` : ''}<p style="font-size:12px;color:#555;margin:8px 0 0">${esc(FOOTNOTE)}</p>
</div>
</body></html>
`;
}
