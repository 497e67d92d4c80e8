/**
 * Exact decimal arithmetic on BigInt (value = n / 10^s), for the reference implementation of the billing rules
 * (domain/billing.ts) that the SQL is tested against, and for small sums in reports. Never a JS float.
 */
export interface Dec {
  readonly n: bigint;
  readonly s: number;
}

const TEN = 10n;
const pow10 = (k: number): bigint => TEN ** BigInt(k);

export function dec(text: string | number | bigint): Dec {
  if (typeof text === 'bigint') return { n: text, s: 0 };
  const t = typeof text === 'number' ? String(text) : text.trim();
  const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(t);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`"${t}" is not a plain decimal`);
  const frac = m[3] ?? '';
  const n = BigInt((m[2] || '0') + frac);
  return { n: m[1] ? -n : n, s: frac.length };
}

export const ZERO: Dec = { n: 0n, s: 0 };

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const s = Math.max(a.s, b.s);
  return [a.n * pow10(s - a.s), b.n * pow10(s - b.s), s];
}

export function add(a: Dec, b: Dec): Dec {
  const [x, y, s] = align(a, b);
  return { n: x + y, s };
}
export function sub(a: Dec, b: Dec): Dec {
  const [x, y, s] = align(a, b);
  return { n: x - y, s };
}
export function mul(a: Dec, b: Dec): Dec {
  return { n: a.n * b.n, s: a.s + b.s };
}
export function cmp(a: Dec, b: Dec): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}
export const max = (a: Dec, b: Dec): Dec => (cmp(a, b) >= 0 ? a : b);
export const min = (a: Dec, b: Dec): Dec => (cmp(a, b) <= 0 ? a : b);
export const sum = (xs: readonly Dec[]): Dec => xs.reduce(add, ZERO);
export const isZero = (a: Dec): boolean => a.n === 0n;

/** The number of decimals needed to write the value exactly (trailing zeros dropped). */
export function scaleOf(a: Dec): number {
  let { n, s } = a;
  while (s > 0 && n % TEN === 0n) {
    n /= TEN;
    s -= 1;
  }
  return s;
}

/** a / b rounded half away from zero to `scale` decimals (b > 0). */
export function divRound(a: Dec, b: Dec, scale: number): Dec {
  if (b.n <= 0n) throw new Error('divRound: divisor must be positive');
  // a/b = (a.n / 10^a.s) / (b.n / 10^b.s); result n = round(a.n × 10^(scale + b.s - a.s) / b.n)
  const shift = scale + b.s - a.s;
  const num = shift >= 0 ? a.n * pow10(shift) : a.n;
  const den = shift >= 0 ? b.n : b.n * pow10(-shift);
  const neg = num < 0n;
  const abs = neg ? -num : num;
  const q = (abs * 2n + den) / (2n * den);
  return { n: neg ? -q : q, s: scale };
}

export function round(a: Dec, scale: number): Dec {
  return a.s <= scale ? a : divRound(a, { n: 1n, s: 0 }, scale);
}

/** Canonical text: no exponent, no trailing zeros ("2.50" → "2.5", "3.000" → "3"). */
export function text(a: Dec): string {
  const s = scaleOf(a);
  const n = a.n / pow10(a.s - s);
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString().padStart(s + 1, '0');
  const body = s === 0 ? digits : `${digits.slice(0, -s)}.${digits.slice(-s)}`;
  return neg ? `-${body}` : body;
}

/**
 * Largest-remainder allocation of a non-negative `total` over non-negative weights, in units of 10^-scale:
 * each share is floor(total × w / W) and the leftover units go one each to the largest remainders, ties to
 * the earlier item (callers pass items in their tie-break order). The shares add up to `total` exactly
 * (total must have at most `scale` decimals). With all weights zero, the first item takes everything.
 */
export function allocate(total: Dec, weights: readonly Dec[], scale: number): Dec[] {
  if (weights.length === 0) return [];
  if (scaleOf(total) > scale) throw new Error(`allocate: ${text(total)} has more than ${scale} decimals`);
  const units = total.n * pow10(scale - total.s);
  const ws = Math.max(0, ...weights.map((w) => w.s));
  const w = weights.map((x) => x.n * pow10(ws - x.s));
  const W = w.reduce((a, b) => a + b, 0n);
  if (W === 0n) return weights.map((_, i) => ({ n: i === 0 ? units : 0n, s: scale }));
  const q = w.map((x) => (units * x) / W);
  const r = w.map((x) => (units * x) % W);
  let left = units - q.reduce((a, b) => a + b, 0n);
  const order = r.map((_, i) => i).sort((i, j) => (r[j]! > r[i]! ? 1 : r[j]! < r[i]! ? -1 : i - j));
  for (const i of order) {
    if (left <= 0n) break;
    q[i] = q[i]! + 1n;
    left -= 1n;
  }
  return q.map((n) => ({ n, s: scale }));
}
