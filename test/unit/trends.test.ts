import {
  changeBetween,
  normalizeSeries,
  sparkline,
  topMovers,
  trendMonths,
  trendRow,
  type TrendRow,
} from '../../domain/trends';

const row = (public_id: string | null, values: (string | null)[], usage_type = 'logs') =>
  trendRow({ public_id, usage_type, view: 'billable' }, values);

describe('trend months and series', () => {
  it('six months ending at the month, across a year', () => {
    expect(trendMonths('2026-02')).toEqual([
      '2025-09',
      '2025-10',
      '2025-11',
      '2025-12',
      '2026-01',
      '2026-02',
    ]);
  });
  it('months before an org existed are absent; after, a month without usage is 0', () => {
    expect(normalizeSeries([null, undefined, '5', null, '3', null])).toEqual([
      null,
      null,
      '5',
      '0',
      '3',
      '0',
    ]);
    expect(normalizeSeries([null, null])).toEqual([null, null]);
    // a month not closed yet is unknown, not 0
    expect(normalizeSeries(['1', null, '2'], [true, false, true])).toEqual(['1', null, '2']);
  });
});

describe('changes', () => {
  it('absolute and percent, rounded half away from zero to one decimal', () => {
    expect(changeBetween('3', '4')).toEqual({ kind: 'change', abs: '1', pct: '33.3' });
    expect(changeBetween('3', '5')).toEqual({ kind: 'change', abs: '2', pct: '66.7' });
    expect(changeBetween('200', '150')).toEqual({ kind: 'change', abs: '-50', pct: '-25' });
    expect(changeBetween('0.5', '0.25')).toEqual({ kind: 'change', abs: '-0.25', pct: '-50' });
  });
  it('a previous 0 (or absent) is new usage, never an infinite or NaN percent', () => {
    expect(changeBetween('0', '7')).toEqual({ kind: 'new', abs: '7', pct: null });
    expect(changeBetween(null, '7')).toEqual({ kind: 'new', abs: '7', pct: null });
    expect(changeBetween('0', '0')).toEqual({ kind: 'flat', abs: '0', pct: '0' });
    expect(changeBetween(null, null)).toEqual({ kind: 'absent', abs: null, pct: null });
  });
  it('an org that stopped goes to 0: -100 %', () => {
    const r = row('o', ['4', '8', null, null, null, null]);
    expect(r.values).toEqual(['4', '8', '0', '0', '0', '0']);
    expect(r.mom).toEqual({ kind: 'flat', abs: '0', pct: '0' });
    expect(r.six_month).toEqual({ kind: 'change', abs: '-4', pct: '-100' });
  });
  it('a new org: six-month change from its first month, month-over-month new', () => {
    const r = row('o', [null, null, null, null, null, '9']);
    expect(r.mom.kind).toBe('new');
    expect(r.six_month).toEqual({ kind: 'new', abs: '9', pct: null });
    const s = row('o', [null, null, null, '2', '0', '3']);
    expect(s.mom).toEqual({ kind: 'new', abs: '3', pct: null });
    expect(s.six_month).toEqual({ kind: 'change', abs: '1', pct: '50' });
  });
});

describe('top movers', () => {
  const rows: TrendRow[] = [
    row(null, ['0', '0', '0', '0', '1000', '1100']),
    row('big-up', ['0', '0', '0', '0', '500', '700']),
    row('big-down', ['0', '0', '0', '0', '400', '250']),
    row('tiny', ['0', '0', '0', '0', '0.01', '5']), // +49 900 % but below the 1 % floor (11)
    row('mid', ['0', '0', '0', '0', '50', '100']),
    row('new', [null, null, null, null, null, '50']),
  ];
  it('ranks absolute and relative changes, keeping tiny orgs out by the floor and new orgs out of relative', () => {
    const m = topMovers(rows, { view: 'billable', top: 2 });
    const pick = (kind: string) =>
      m.filter((x) => x.kind === kind).map((x) => `${x.public_id} ${x.abs} ${x.pct}`);
    expect(pick('increase')).toEqual(['big-up 200 40', 'mid 50 100']);
    expect(pick('decrease')).toEqual(['big-down -150 -37.5']);
    expect(pick('relative_increase')).toEqual(['mid 50 100', 'big-up 200 40']);
    expect(pick('relative_decrease')).toEqual(['big-down -150 -37.5']);
    expect(m.some((x) => x.public_id === 'tiny')).toBe(false);
  });
  it('can leave out orgs (the parent) and considers one view only', () => {
    const m = topMovers(rows, { view: 'billable', exclude: ['big-up'] });
    expect(m.some((x) => x.public_id === 'big-up')).toBe(false);
    expect(topMovers(rows, { view: 'all' })).toEqual([]);
  });
});

describe('sparkline', () => {
  it('scales to the series maximum; absent months are blank', () => {
    expect(sparkline([null, '0', '1', '2', '4', '8'])).toBe(' ▁▂▃▅█');
    expect(sparkline(['0', '0'])).toBe('▁▁');
  });
});
