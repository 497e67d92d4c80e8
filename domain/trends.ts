import { cmp, dec, divRound, sub, text, ZERO, type Dec } from './exact';
import { previousMonth } from './month-end';

/**
 * Six-month trends over closed months. A series holds one value per month (oldest first) or null where the org
 * did not exist yet: before its first month with usage a month is absent, after it a month without usage is 0
 * (an org that stopped shows zeros, not gaps).
 */
export const TREND_MONTHS = 6;

export type View = 'billable' | 'all';

/** The six months ending at `month`, oldest first. */
export function trendMonths(month: string, n = TREND_MONTHS): string[] {
  const out = [month];
  while (out.length < n) out.unshift(previousMonth(out[0] as string));
  return out;
}

/**
 * Absent before the first present value and in months not closed (`closed[i]` false); 0 for a closed month
 * without usage after it.
 */
export function normalizeSeries(
  values: readonly (string | null | undefined)[],
  closed?: readonly boolean[],
): (string | null)[] {
  const first = values.findIndex((v) => v !== null && v !== undefined);
  return values.map((v, i) => (first === -1 || i < first || closed?.[i] === false ? null : (v ?? '0')));
}

export type ChangeKind = 'change' | 'new' | 'flat' | 'absent';

export interface Change {
  /** `new`: from absent or 0 to a positive value (no percent); `absent`: no value now and before. */
  kind: ChangeKind;
  abs: string | null;
  /** Percent, one decimal, half away from zero; null for `new` and `absent`. */
  pct: string | null;
}

export function changeBetween(before: string | null, now: string | null): Change {
  if (now === null) return { kind: 'absent', abs: null, pct: null };
  const n = dec(now);
  if (before === null || cmp(dec(before), ZERO) === 0) {
    return cmp(n, ZERO) === 0
      ? { kind: 'flat', abs: '0', pct: '0' }
      : { kind: 'new', abs: text(n), pct: null };
  }
  const b = dec(before);
  const d = sub(n, b);
  return {
    kind: cmp(d, ZERO) === 0 ? 'flat' : 'change',
    abs: text(d),
    pct: text(divRound({ n: d.n * 100n, s: d.s }, b, 1)),
  };
}

export interface TrendRow {
  public_id: string | null; // null: the account
  usage_type: string;
  view: View;
  values: (string | null)[];
  mom: Change;
  six_month: Change;
}

/** Month-over-month (last two months) and six-month change (first present month → last). */
export function trendRow(
  key: { public_id: string | null; usage_type: string; view: View },
  raw: readonly (string | null | undefined)[],
  closed?: readonly boolean[],
): TrendRow {
  const values = normalizeSeries(raw, closed);
  const last = values[values.length - 1] ?? null;
  const prev = values.length > 1 ? (values[values.length - 2] ?? null) : null;
  const first = values.find((v) => v !== null) ?? null;
  const firstIdx = values.findIndex((v) => v !== null);
  return {
    ...key,
    values,
    mom: changeBetween(prev, last),
    six_month: firstIdx === values.length - 1 ? changeBetween(null, last) : changeBetween(first, last),
  };
}

export type MoverKind = 'increase' | 'decrease' | 'relative_increase' | 'relative_decrease';

export interface Mover {
  kind: MoverKind;
  public_id: string;
  usage_type: string;
  view: View;
  previous: string | null;
  current: string | null;
  abs: string;
  pct: string | null;
}

/**
 * The largest month-over-month movers among the orgs of each product: absolute increases and decreases, and
 * relative ones among orgs that had usage the month before. The floor keeps tiny orgs out: an org moves only when
 * max(previous, current) ≥ `floorPercent` % of the account's max(previous, current) for that product.
 */
export function topMovers(
  rows: readonly TrendRow[],
  opts: { view: View; top?: number; floorPercent?: string; exclude?: readonly string[] },
): Mover[] {
  const top = opts.top ?? 3;
  const floorPct = dec(opts.floorPercent ?? '1');
  const out: Mover[] = [];
  const byProduct = new Map<string, TrendRow[]>();
  for (const r of rows) {
    if (r.view !== opts.view) continue;
    const list = byProduct.get(r.usage_type);
    if (list) list.push(r);
    else byProduct.set(r.usage_type, [r]);
  }
  for (const [usage_type, list] of [...byProduct].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const last2 = (r: TrendRow): [Dec, Dec] => {
      const v = r.values;
      return [dec(v[v.length - 2] ?? '0'), dec(v[v.length - 1] ?? '0')];
    };
    const account = list.find((r) => r.public_id === null);
    const volume = (pair: [Dec, Dec]) => (cmp(pair[0], pair[1]) >= 0 ? pair[0] : pair[1]);
    const floor = account
      ? divRound(
          { n: volume(last2(account)).n * floorPct.n, s: volume(last2(account)).s + floorPct.s },
          dec(100),
          6,
        )
      : ZERO;
    const candidates = list
      .filter((r) => r.public_id !== null && !(opts.exclude ?? []).includes(r.public_id))
      .map((r) => ({ r, pair: last2(r) }))
      .filter(({ pair }) => cmp(volume(pair), ZERO) > 0 && cmp(volume(pair), floor) >= 0)
      .map(({ r, pair }) => ({ r, pair, d: sub(pair[1], pair[0]) }));
    const mover = (kind: MoverKind, c: (typeof candidates)[number]): Mover => ({
      kind,
      public_id: c.r.public_id as string,
      usage_type,
      view: opts.view,
      previous: c.r.values[c.r.values.length - 2] ?? null,
      current: c.r.values[c.r.values.length - 1] ?? null,
      abs: text(c.d),
      pct: c.r.mom.pct,
    });
    const byId = (a: (typeof candidates)[number], b: (typeof candidates)[number]) =>
      (a.r.public_id as string) < (b.r.public_id as string) ? -1 : 1;
    const inc = candidates.filter((c) => cmp(c.d, ZERO) > 0);
    const decr = candidates.filter((c) => cmp(c.d, ZERO) < 0);
    out.push(
      ...[...inc]
        .sort((a, b) => cmp(b.d, a.d) || byId(a, b))
        .slice(0, top)
        .map((c) => mover('increase', c)),
    );
    out.push(
      ...[...decr]
        .sort((a, b) => cmp(a.d, b.d) || byId(a, b))
        .slice(0, top)
        .map((c) => mover('decrease', c)),
    );
    const rel = (xs: typeof candidates) =>
      xs
        .filter((c) => c.r.mom.kind === 'change' && c.r.mom.pct !== null)
        .map((c) => ({ c, p: dec(c.r.mom.pct as string) }));
    out.push(
      ...rel(inc)
        .sort((a, b) => cmp(b.p, a.p) || byId(a.c, b.c))
        .slice(0, top)
        .map(({ c }) => mover('relative_increase', c)),
    );
    out.push(
      ...rel(decr)
        .sort((a, b) => cmp(a.p, b.p) || byId(a.c, b.c))
        .slice(0, top)
        .map(({ c }) => mover('relative_decrease', c)),
    );
  }
  return out;
}

const BARS = '▁▂▃▄▅▆▇█';

/** A terminal sparkline of a series (absent months as spaces), scaled to the series' own maximum. */
export function sparkline(values: readonly (string | null)[]): string {
  const present = values.filter((v): v is string => v !== null).map((v) => dec(v));
  const max = present.reduce((m, v) => (cmp(v, m) > 0 ? v : m), ZERO);
  return values
    .map((v) => {
      if (v === null) return ' ';
      if (cmp(max, ZERO) === 0) return BARS[0];
      const idx = Number(divRound({ n: dec(v).n * 7n, s: dec(v).s }, max, 0).n);
      return BARS[Math.min(7, Math.max(0, idx))];
    })
    .join('');
}
