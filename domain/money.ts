import { cmp, dec, divRound, sub, text, ZERO } from './exact';

/**
 * Money as finance reads it: every amount with its currency (ISO 4217 code first, as on an invoice), two decimals,
 * thousands separators; a product without a price is "not priced", never 0.00 (it would read as free).
 */

export const NOT_PRICED = 'not priced';

/** A product is priced in a version when either of its prices is set (the close stores 0 for "no commitment"). */
export function isPriced(t: { committed_price: string; on_demand_price: string }): boolean {
  return cmp(dec(t.committed_price), ZERO) !== 0 || cmp(dec(t.on_demand_price), ZERO) !== 0;
}

const group = (int: string): string => int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** `1234567.5` → `1,234,567.5`: the exact decimal, thousands separated, trailing zeros dropped (no rounding). */
export function exactQuantity(v: string): string {
  const t = text(dec(v));
  const neg = t.startsWith('-');
  const [int = '', frac] = (neg ? t.slice(1) : t).split('.');
  return `${neg ? '-' : ''}${group(int)}${frac === undefined ? '' : `.${frac}`}`;
}

/** `1234.5` → `1,234.50` (exact: rounded half away from zero on the decimal, never through a float). */
export function amount(v: string, decimals = 2): string {
  const d = divRound(dec(v), dec(1), decimals);
  const neg = d.n < 0n;
  const digits = (neg ? -d.n : d.n).toString().padStart(decimals + 1, '0');
  const int = group(digits.slice(0, digits.length - decimals));
  const frac = decimals ? `.${digits.slice(digits.length - decimals)}` : '';
  return `${neg ? '-' : ''}${int}${frac}`;
}

/** `USD 1,234.50`. */
export function money(v: string, currency: string): string {
  return `${currency} ${amount(v)}`;
}

/** A change with its sign, from the rounded value (a change that rounds to 0.00 has none): `+USD 12.00`. */
export function signedMoney(v: string, currency: string): string {
  const a = amount(v);
  if (!/[1-9]/.test(a)) return `${currency} ${a.replace('-', '')}`;
  return a.startsWith('-') ? `-${currency} ${a.slice(1)}` : `+${currency} ${a}`;
}

/** A unit price, exact (never rounded to cents: 0.0017 a unit is not 0.00), at least two decimals: `1,500.00`. */
export function price(v: string): string {
  const [int, frac = ''] = exactQuantity(v).split('.');
  return `${int}.${frac.padEnd(2, '0')}`;
}

/** Percent change from `prev` to `cur`, one decimal with its sign (`+29.6 %`), or undefined when prev is 0. */
export function percentChange(prev: string, cur: string): string | undefined {
  const p = dec(prev);
  if (p.n === 0n) return undefined;
  const d = sub(dec(cur), p);
  const abs = p.n < 0n ? { n: -p.n, s: p.s } : p;
  const pct = divRound({ n: d.n * 100n, s: d.s }, abs, 1);
  if (pct.n === 0n) return '0.0 %';
  return `${pct.n < 0n ? '' : '+'}${amount(`${pct.n < 0n ? '-' : ''}${text({ n: pct.n < 0n ? -pct.n : pct.n, s: 1 })}`, 1)} %`;
}

/** `part` as a share of `whole`, one decimal (`91.0 %`), or undefined when whole is 0. */
export function percentOf(part: string, whole: string): string | undefined {
  const w = dec(whole);
  if (w.n === 0n) return undefined;
  const p = dec(part);
  const pct = divRound({ n: p.n * 100n, s: p.s }, w.n < 0n ? { n: -w.n, s: w.s } : w, 1);
  return `${amount(text(pct), 1)} %`;
}

/** A quantity for reading: separators, at most `maxDecimals` (rounded), no trailing zeros (`1,234.5`). */
export function quantity(v: string, maxDecimals = 2): string {
  const t = amount(v, maxDecimals);
  return t.includes('.') ? t.replace(/\.?0+$/, '') : t;
}
