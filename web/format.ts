import { change, formatNumber } from '../domain/month-end-report';
import { money as moneyOf, NOT_PRICED } from '../domain/money';
import { excludesNote } from '../queries/prices';
import { html, type Html } from './html';

export { excludesNote };

/**
 * Numbers as the console shows them: exact decimals with thousands separators (never a JS float), money to the
 * cent with the account's currency code first, as on an invoice (domain/money.ts, as the mail and the CLI). The
 * currency is the scope's: read once with the account, never assumed.
 */
export const qty = (v: string | null | undefined): string =>
  v === null || v === undefined ? '—' : formatNumber(v);
export const money = (v: string | null | undefined, currency: string): string =>
  v === null || v === undefined ? '—' : moneyOf(v, currency);
/** A product's cost: "not priced" when the product has no price (its 0.00 would read as free). */
export const cost = (v: string | null | undefined, currency: string, priced: boolean): string =>
  priced ? money(v, currency) : NOT_PRICED;
/** How a page shows money: the account's currency, and the products without a price. */
export interface Pricing {
  currency: string;
  unpriced: readonly string[];
}

/** Beside a total over products: which it leaves out, those without a price (nothing when every one has one). */
export const totalNote = (m: Pricing): Html =>
  m.unpriced.length ? html` <span class="muted">(${excludesNote(m.unpriced)})</span>` : html``;

export const pct = (v: string | null | undefined): string =>
  v === null || v === undefined ? '—' : `${formatNumber(v, 1)} %`;

/** Month-over-month change as a cell: "+12.5 %" / "−3.0 %" / "new" / "—" when there is no previous month. */
export function changeCell(prev: string | undefined, cur: string | undefined): Html {
  if (cur === undefined || prev === undefined) return html`<td class="num muted">—</td>`;
  const c = change(prev, cur);
  const cls = c.pct.startsWith('-') ? 'down' : c.pct === '0 %' || c.pct === 'new' ? 'flat' : 'up';
  const shown =
    c.pct === 'new' || c.pct === '0 %' ? c.pct : c.pct.startsWith('-') ? `−${c.pct.slice(1)}` : `+${c.pct}`;
  return html`<td class="num change ${cls}">${shown}</td>`;
}

/** "2026-10" → "October 2026". */
export function monthName(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, 1)).toLocaleString('en-GB', {
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
}

/** An instant as "2026-11-20 12:30 UTC": one unambiguous form on every page. */
export function when(iso: string | Date | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** An instant in a time zone the viewer chose: "1 Dec 2026, 14:00 CET" (the zone's own abbreviation). */
export function whenIn(iso: string | Date | null | undefined, zone: string): string {
  if (iso === null || iso === undefined) return '—';
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(typeof iso === 'string' ? new Date(iso) : iso);
}

/** The calendar day of an instant in a zone, YYYY-MM-DD. */
export const dayIn = (ms: number, zone: string): string =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);
