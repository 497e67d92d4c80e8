import { backfillDays, backfillPlan } from '../../workflows/backfill';
import { renderProgress } from '../../scripts/lib/progress';

const base = {
  total: 62,
  done: 0,
  failed: 0,
  running: [],
  failures: [],
  startedAtMs: 0,
  runs: 1,
  finished: false,
};

describe('backfill plan', () => {
  it('days first, then each month oldest first; trends only without month-end', () => {
    expect(backfillDays('2026-02-27', '2026-03-02')).toEqual([
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
    ]);
    const plan = backfillPlan({ from: '2026-02-27', to: '2026-03-02' });
    expect(plan.map((u) => `${u.step} ${u.key}`)).toEqual([
      'attribution 2026-02-27',
      'attribution 2026-02-28',
      'attribution 2026-03-01',
      'attribution 2026-03-02',
      'month-end 2026-02',
      'month-end 2026-03',
    ]);
    expect(
      backfillPlan({ from: '2026-02-27', to: '2026-03-02', steps: ['trends'] }).map((u) => u.key),
    ).toEqual(['2026-02', '2026-03']);
    expect(() => backfillDays('2026-03-02', '2026-03-01')).toThrow(/not two days in order/);
  });
});

describe('progress bar', () => {
  it('shows done / total, failures, elapsed and an ETA from the rate so far', () => {
    expect(
      renderProgress({ ...base, done: 31, failed: 1, running: ['attribution 2026-08-04'] }, 60_000, 10),
    ).toBe(
      '[#####.....] 31/62 (50 %) · 1 failed · 00:01:00 elapsed · ETA 00:01:00 · running attribution 2026-08-04',
    );
  });
  it('has no ETA before anything finished, and says done at the end', () => {
    expect(renderProgress(base, 5_000, 4)).toBe(
      '[....] 0/62 (0 %) · 0 failed · 00:00:05 elapsed · ETA --:--:--',
    );
    expect(renderProgress({ ...base, done: 62, finished: true }, 125_000, 4)).toBe(
      '[####] 62/62 (100 %) · 0 failed · 00:02:05 elapsed · done',
    );
  });
});
