/**
 * Exact decimals travel as strings (pg returns numeric as text). This module only validates and canonicalizes
 * their text; arithmetic on money and billed quantities happens in Postgres numeric.
 */
const DECIMAL = /^\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,6})?$/;

/**
 * The billing scale: what the close can add up, split and round. A usage value (or spec quantity) outside it is
 * refused at the door — a value of 1e-24 or of 140 000 digits would be stored and then break every close.
 */
export const MAX_FRACTION_DIGITS = 12;
export const MAX_INTEGER_DIGITS = 18;
/** Longer text (zeros around the digits) is stored in its canonical form. */
const MAX_TEXT = 40;

export type DecimalResult = { ok: true; value: string } | { ok: false; detail: string };

/** A finite, non-negative decimal from a JSON number or a string. */
const PLAIN = /^\d+(\.\d+)?$/;

export function parseNonNegativeDecimal(input: unknown): DecimalResult {
  if (typeof input === 'string' && PLAIN.test(input)) return withinScale(input, input); // the common case, first
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, detail: `value ${input} is not finite` };
    if (input < 0) return { ok: false, detail: `value ${input} is negative` };
    return withinScale(String(input), String(input)); // String(5e-324) is exponent text: scaled below
  }
  if (typeof input !== 'string')
    return { ok: false, detail: `value ${JSON.stringify(input) ?? 'missing'} is not a number` };
  const s = input.trim();
  if (s === '') return { ok: false, detail: 'value is empty' };
  if (/^[+-]?(nan|inf|infinity)$/i.test(s)) return { ok: false, detail: `value "${shown(s)}" is not finite` };
  if (s.startsWith('-')) {
    if (!DECIMAL.test(s.slice(1))) return { ok: false, detail: `value "${shown(s)}" is not a number` };
    return /[1-9]/.test(s.replace(/[eE].*$/, ''))
      ? { ok: false, detail: `value "${shown(s)}" is negative` }
      : { ok: true, value: '0' };
  }
  if (!DECIMAL.test(s)) return { ok: false, detail: `value "${shown(s)}" is not a number` };
  return withinScale(s.replace(/^\+/, ''), s);
}

const shown = (s: string) => (s.length > 60 ? `${s.slice(0, 40)}…(${s.length} characters)` : s);

/**
 * Checks a decimal's significant digits against the billing scale and returns its text: as written when it is
 * short and plain, else canonical plain text (no exponent, no surplus zeros).
 */
function withinScale(text: string, original: string): DecimalResult {
  const e = text.search(/[eE]/);
  const mantissa = e < 0 ? text : text.slice(0, e);
  const exp = e < 0 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const point = (dot < 0 ? mantissa.length : dot) + exp; // decimal point position within `digits`
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === 48) first++;
  if (first === digits.length) return { ok: true, value: e < 0 && text.length <= MAX_TEXT ? text : '0' };
  let last = digits.length - 1;
  while (digits.charCodeAt(last) === 48) last--;
  const intDigits = point - first;
  const fracDigits = last + 1 - point;
  if (intDigits > MAX_INTEGER_DIGITS) {
    return {
      ok: false,
      detail: `value "${shown(original)}" has ${intDigits} digits before the decimal point; at most ${MAX_INTEGER_DIGITS}`,
    };
  }
  if (fracDigits > MAX_FRACTION_DIGITS) {
    return {
      ok: false,
      detail: `value "${shown(original)}" has ${fracDigits} decimal places; at most ${MAX_FRACTION_DIGITS}`,
    };
  }
  if (e < 0 && text.length <= MAX_TEXT) return { ok: true, value: text };
  const sig = digits.slice(first, last + 1);
  let value: string;
  if (intDigits >= sig.length) value = sig + '0'.repeat(intDigits - sig.length);
  else if (intDigits > 0) value = `${sig.slice(0, intDigits)}.${sig.slice(intDigits)}`;
  else value = `0.${'0'.repeat(-intDigits)}${sig}`;
  return { ok: true, value };
}

/** Canonical text of a plain decimal ("031.50" → "31.5", "2.000" → "2"), to compare values written differently. */
export function canonicalDecimal(s: string): string {
  const [int = '0', frac = ''] = s.trim().replace(/^\+/, '').split('.');
  const i = int.replace(/^0+(?=\d)/, '') || '0';
  const f = frac.replace(/0+$/, '');
  return f ? `${i}.${f}` : i;
}

/** A JS number as plain decimal text, never exponent notation (1e-7 → "0.0000001"). */
export function plainNumberText(n: number): string {
  const s = String(n); // shortest round-trip text; only exponent notation needs Intl (slow)
  if (!s.includes('e')) return s;
  return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}
