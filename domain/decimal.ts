/**
 * Exact decimals travel as strings (pg returns numeric as text). This module only validates and canonicalizes
 * their text; arithmetic on money and billed quantities happens in Postgres numeric.
 */
const DECIMAL = /^\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?$/;

export type DecimalResult = { ok: true; value: string } | { ok: false; detail: string };

/** A finite, non-negative decimal from a JSON number or a string. */
const PLAIN = /^\d+(\.\d+)?$/;

export function parseNonNegativeDecimal(input: unknown): DecimalResult {
  if (typeof input === 'string' && PLAIN.test(input)) return { ok: true, value: input }; // the common case, first
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, detail: `value ${input} is not finite` };
    if (input < 0) return { ok: false, detail: `value ${input} is negative` };
    return { ok: true, value: String(input) };
  }
  if (typeof input !== 'string')
    return { ok: false, detail: `value ${JSON.stringify(input) ?? 'missing'} is not a number` };
  const s = input.trim();
  if (s === '') return { ok: false, detail: 'value is empty' };
  if (/^[+-]?(nan|inf|infinity)$/i.test(s)) return { ok: false, detail: `value "${s}" is not finite` };
  if (s.startsWith('-')) {
    return DECIMAL.test(s.slice(1)) && /[1-9]/.test(s.replace(/[eE].*$/, ''))
      ? { ok: false, detail: `value "${s}" is negative` }
      : DECIMAL.test(s.slice(1))
        ? { ok: true, value: '0' }
        : { ok: false, detail: `value "${s}" is not a number` };
  }
  if (!DECIMAL.test(s)) return { ok: false, detail: `value "${s}" is not a number` };
  return { ok: true, value: s.replace(/^\+/, '') };
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
