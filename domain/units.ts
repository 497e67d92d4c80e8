import { cmp, dec } from './exact';

/** Units as they read after a number. */

/**
 * The plural of a unit: its last word when that is a lower-case word (`host` → `hosts`, `test run` → `test
 * runs`); abbreviations (`GB`, `10k`) and words ending in s (`million events`) stay as they are.
 */
export function pluralUnit(unit: string): string {
  const m = /(^|\s)([a-z]{2,})$/.exec(unit);
  if (!m) return unit;
  const w = m[2] as string;
  if (w.endsWith('s')) return unit;
  if (/(x|z|ch|sh)$/.test(w)) return `${unit}es`;
  if (/[^aeiou]y$/.test(w)) return `${unit.slice(0, -1)}ies`;
  return `${unit}s`;
}

/** The unit as it reads after `v`: singular for exactly ±1, plural otherwise (`0 hosts`, `12.5 GB`). */
export function unitFor(unit: string, v: string): string {
  const d = dec(v);
  return cmp(d.n < 0n ? { n: -d.n, s: d.s } : d, dec(1)) === 0 ? unit : pluralUnit(unit);
}
