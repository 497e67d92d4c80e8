import { alertChart, renderAlertMail, type AlertMailInput } from '../../domain/alert-mail';
import { changeCost, thresholdCost } from '../../domain/alert-mail-cost';
import { qty, windowWords, wrap } from '../../domain/alert-mail-words';
import {
  addDays,
  isDayComplete,
  lastCompleteDay,
  zonedDayEndMs,
  zonedDayStartMs,
} from '../../domain/alert-days';
import { alertEventKey, alertScopeKey, nextAlertState, type AlertState } from '../../domain/alert-state';
import {
  evaluateChange,
  evaluateStall,
  evaluateThreshold,
  isStalled,
  median,
  type ChangeInput,
  type ChangeRule,
} from '../../domain/alerts';

const H = 3_600_000;
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s, ms);
const NY = 'America/New_York';

// 14 baseline days whose median is 100: sorted 80 90 95 100×8 105 110 120, 7th and 8th are both 100
const BASE_100 = [
  '90',
  '95',
  '100',
  '100',
  '100',
  '100',
  '100',
  '100',
  '105',
  '110',
  '120',
  '80',
  '100',
  '100',
];
const spike: ChangeRule = { kind: 'spike', change_percent: 50, min_units: '20' };
const drop: ChangeRule = { kind: 'drop', change_percent: 50, min_units: '20' };
const change = (
  rule: ChangeRule,
  baseline: readonly (string | null)[],
  d: string,
  over: Partial<ChangeInput> = {},
) =>
  evaluateChange(rule, {
    subject: 'logs_ingested_bytes for client-a',
    unit: 'GB',
    day: '2026-11-20',
    values: [...baseline, d],
    asOf: at(2026, 11, 24, 10), // 2026-11-20 ended 2026-11-21T00:00Z; + 72 h = 2026-11-24T00:00Z
    latenessHours: 72,
    timeZone: 'UTC',
    ...over,
  });

describe('threshold', () => {
  const base = {
    subject: 'infra_hosts for client-a',
    unit: 'hosts',
    month: '2026-11',
    asOfMs: at(2026, 11, 15, 10, 37),
  };

  it('absolute: fires when the value is strictly above, with the ratio to the limit', () => {
    const e = evaluateThreshold({ above: '1000' }, { ...base, value: '1200' });
    expect(e).toEqual({
      kind: 'threshold',
      evaluated: true,
      firing: true,
      measure: 'mtd',
      window: '2026-11',
      value: '1200',
      limit: '1000',
      percent: '120',
      message:
        'infra_hosts for client-a: month-to-date usage for 2026-11 is 1200 hosts, 120 % of 1000 hosts; fires above 1000 hosts',
    });
    expect(evaluateThreshold({ above: '1000' }, { ...base, value: '1000' })).toMatchObject({
      firing: false,
      percent: '100',
    });
    expect(evaluateThreshold({ above: '1000' }, { ...base, value: '1000.000001' }).firing).toBe(true);
  });

  it('absolute: compares exactly where floats cannot (2^53 + 1 > 2^53)', () => {
    const e = evaluateThreshold({ above: '9007199254740992' }, { ...base, value: '9007199254740993' });
    expect(e.firing).toBe(true);
    expect(e.percent).toBe('100');
  });

  it('percent of included: fires at ≥ p %, projected, window per as-of hour', () => {
    const rule = { measure: 'projected' as const, percent_of_included: 80 };
    const e = evaluateThreshold(rule, {
      ...base,
      subject: 'infra_hosts (account)',
      value: '850',
      included: '1000',
    });
    expect(e).toEqual({
      kind: 'threshold',
      evaluated: true,
      firing: true,
      measure: 'projected',
      window: '2026-11@2026-11-15T10:00:00Z',
      value: '850',
      limit: '800',
      percent: '85',
      message:
        'infra_hosts (account): projected usage for 2026-11 is 850 hosts, 85 % of the 1000 hosts included; fires at ≥ 80 % of included',
    });
    expect(evaluateThreshold(rule, { ...base, value: '800', included: '1000' }).firing).toBe(true);
  });

  it('percent of included: decided exactly, not on the rounded percent shown', () => {
    // 799.99 / 1000 = 79.999 % → shown as 80 (one decimal, half away from zero) but below 80 %
    const e = evaluateThreshold({ percent_of_included: 80 }, { ...base, value: '799.99', included: '1000' });
    expect(e.firing).toBe(false);
    expect(e.percent).toBe('80');
    // a fractional percent: 12.5 % of 8 is exactly 1
    const r = { percent_of_included: 12.5 };
    expect(evaluateThreshold(r, { ...base, value: '1', included: '8' })).toMatchObject({
      firing: true,
      limit: '1',
    });
    expect(evaluateThreshold(r, { ...base, value: '0.99', included: '8' }).firing).toBe(false);
  });

  it('percent of included with nothing included does not fire and says why', () => {
    for (const included of ['0', null, undefined]) {
      const e = evaluateThreshold({ percent_of_included: 80 }, { ...base, value: '5', included });
      expect(e).toMatchObject({ evaluated: true, firing: false, limit: null, percent: null });
      expect(e.message).toBe(
        'infra_hosts for client-a: month-to-date usage for 2026-11 is 5 hosts; cannot fire: the included quantity is 0 and the rule is ≥ 80 % of included',
      );
    }
  });

  it('needs exactly one of above / percent_of_included', () => {
    expect(() => evaluateThreshold({}, { ...base, value: '1' })).toThrow(/exactly one/);
    expect(() => evaluateThreshold({ above: '1', percent_of_included: 5 }, { ...base, value: '1' })).toThrow(
      /exactly one/,
    );
  });
});

describe('median', () => {
  it('of an even count is the exact mean of the two middle values', () => {
    expect(median(['14', '3', '9', '1', '12', '5', '7', '2', '13', '6', '8', '11', '4', '10'])).toBe('7.5');
    expect(median(['0.1', '0.2'])).toBe('0.15');
    expect(median(BASE_100)).toBe('100');
  });
  it('of an odd count is the middle value', () => {
    expect(median(['9', '1', '8', '2', '7', '3', '6', '4', '5'])).toBe('5');
  });
  it('counts zero days as values', () => {
    // 0 ×7 and 10 ×7: the 7th smallest is 0, the 8th is 10
    expect(median(['0', '0', '0', '0', '0', '0', '0', '10', '10', '10', '10', '10', '10', '10'])).toBe('5');
  });
});

describe('spike and drop', () => {
  it('a spike fires with the sentence of the issue', () => {
    const e = change(spike, BASE_100, '180');
    expect(e).toEqual({
      kind: 'spike',
      evaluated: true,
      firing: true,
      window: '2026-11-20',
      value: '180',
      baseline: '100',
      baselineDays: 14,
      change: '80',
      percent: '+80',
      message:
        'logs_ingested_bytes for client-a on 2026-11-20: 180 GB vs a median of 100 GB over the 14 complete days before (+80 %, +80 GB); fires at ≥ 50 % and ≥ 20 GB',
    });
  });

  it('the floor: a 500 % change of 3 units does not fire with min_units 20', () => {
    const small = Array<string>(14).fill('0.6');
    const e = change(spike, small, '3.6');
    expect(e).toMatchObject({
      evaluated: true,
      firing: false,
      baseline: '0.6',
      change: '3',
      percent: '+500',
    });
    // the floor alone decided it
    expect(change({ ...spike, min_units: '3' }, small, '3.6').firing).toBe(true);
  });

  it('needs both the percent and the units, each compared with ≥', () => {
    expect(change(spike, BASE_100, '140')).toMatchObject({ firing: false, percent: '+40' }); // +40 units, +40 %
    expect(change(spike, BASE_100, '150')).toMatchObject({ firing: true, percent: '+50' }); // exactly 50 %
    // +49.99 % is shown as +50 but is below the rule
    expect(change(spike, BASE_100, '149.99')).toMatchObject({ firing: false, percent: '+50' });
    const forty = Array<string>(14).fill('40');
    expect(change(spike, forty, '60')).toMatchObject({ firing: true, change: '20', percent: '+50' }); // both exact
    expect(change(spike, forty, '59.99').firing).toBe(false);
  });

  it('a drop fires on a decrease; a spike rule ignores it and a drop rule ignores increases', () => {
    const e = change(drop, BASE_100, '40');
    expect(e).toMatchObject({ kind: 'drop', firing: true, change: '-60', percent: '-60' });
    expect(e.message).toBe(
      'logs_ingested_bytes for client-a on 2026-11-20: 40 GB vs a median of 100 GB over the 14 complete days before (-60 %, -60 GB); fires at a decrease of ≥ 50 % and ≥ 20 GB',
    );
    expect(change(spike, BASE_100, '40').firing).toBe(false);
    expect(change(drop, BASE_100, '180').firing).toBe(false);
    // -80 % but only 8 units
    expect(change(drop, Array<string>(14).fill('10'), '2')).toMatchObject({ firing: false, percent: '-80' });
  });

  it('a median of 0: a spike fires on the units alone (reported as new), a drop cannot fire', () => {
    const zeros = Array<string>(14).fill('0');
    const e = change(spike, zeros, '25');
    expect(e).toMatchObject({ firing: true, baseline: '0', percent: 'new', change: '25' });
    expect(e.message).toBe(
      'logs_ingested_bytes for client-a on 2026-11-20: 25 GB vs a median of 0 GB over the 14 complete days before (new, +25 GB); fires at ≥ 50 % and ≥ 20 GB',
    );
    expect(change(spike, zeros, '19').firing).toBe(false);
    expect(change(spike, zeros, '0')).toMatchObject({ firing: false, percent: '0' });
    const d = change({ ...drop, min_units: '0' }, zeros, '0');
    expect(d.firing).toBe(false);
    expect(d.message).toMatch(/a drop cannot fire from a median of 0$/);
  });

  it('the median counts zero days of an existing scope, not days before it existed', () => {
    // existed from the 5th day: 10 10 0 0 0 0 10 10 10 0 → 0 ×5, 10 ×5 → mean of 0 and 10
    const baseline = [null, null, null, null, '10', '10', null, null, null, null, '10', '10', '10', '0'];
    const e = change(spike, baseline, '30');
    expect(e).toMatchObject({
      evaluated: true,
      baseline: '5',
      baselineDays: 10,
      change: '25',
      percent: '+500',
    });
    expect(e.firing).toBe(true);
    expect(e.message).toContain('over the 10 complete days before (it did not exist earlier)');
  });

  it('is not evaluated with fewer than 7 baseline days, and is with 7', () => {
    const six = [null, null, null, null, null, null, null, null, '5', '5', '5', '5', '5', '5'];
    const e = change(spike, six, '500');
    expect(e).toMatchObject({ evaluated: false, firing: false, baseline: null, baselineDays: 6 });
    expect(e.message).toBe(
      'logs_ingested_bytes for client-a on 2026-11-20: not evaluated: the scope existed on only 6 of the 14 complete days before (at least 7 needed)',
    );
    const seven = [null, null, null, null, null, null, null, '1', '2', '3', '4', '5', '6', '7'];
    expect(change(spike, seven, '100')).toMatchObject({
      evaluated: true,
      firing: true,
      baseline: '4',
      baselineDays: 7,
      percent: '+2400',
    });
  });

  it('needs exactly 15 daily values', () => {
    expect(() => change(spike, BASE_100.slice(1), '1')).toThrow(/15 daily values/);
  });
});

describe('incomplete-day guard', () => {
  it('asOf 10:00 on D+1 with 72 h lateness: the last complete day is D−3 (UTC)', () => {
    expect(lastCompleteDay(at(2026, 11, 21, 10), 72, 'UTC')).toBe('2026-11-17'); // D = 2026-11-20
  });

  it('asOf 10:00 on D+1 with 72 h lateness: D−3 in New York across both DST changes', () => {
    // D = 2026-11-02; 2026-11-03 10:00 EST = 15:00Z; the fall-back day 2026-11-01 lies between
    expect(lastCompleteDay(at(2026, 11, 3, 15), 72, NY)).toBe('2026-10-30');
    // D = 2026-03-09; 2026-03-10 10:00 EDT = 14:00Z; the spring-forward day 2026-03-08 lies between
    expect(lastCompleteDay(at(2026, 3, 10, 14), 72, NY)).toBe('2026-03-06');
  });

  it('day ends are the next local midnight, in real hours (23 h and 25 h days)', () => {
    expect(zonedDayEndMs('2026-11-20', 'UTC')).toBe(at(2026, 11, 21));
    expect(zonedDayEndMs('2026-11-01', NY)).toBe(at(2026, 11, 2, 5));
    expect(zonedDayEndMs('2026-11-01', NY) - zonedDayStartMs('2026-11-01', NY)).toBe(25 * H);
    expect(zonedDayEndMs('2026-03-08', NY)).toBe(at(2026, 3, 9, 4));
    expect(zonedDayEndMs('2026-03-08', NY) - zonedDayStartMs('2026-03-08', NY)).toBe(23 * H);
    expect(zonedDayEndMs('2026-03-01', 'Asia/Kolkata')).toBe(at(2026, 3, 1, 18, 30));
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });

  it('a day completes exactly at its end + lateness, counted in real hours across DST', () => {
    // 2026-10-31 (EDT) ends 2026-11-01T04:00Z → complete at 2026-11-04T04:00Z (23:00 EST, not midnight)
    expect(lastCompleteDay(at(2026, 11, 4, 3, 59, 59, 999), 72, NY)).toBe('2026-10-30');
    expect(lastCompleteDay(at(2026, 11, 4, 4), 72, NY)).toBe('2026-10-31');
    // the 25-hour 2026-11-01 ends 2026-11-02T05:00Z → complete at 2026-11-05T05:00Z
    expect(lastCompleteDay(at(2026, 11, 5, 4, 59, 59, 999), 72, NY)).toBe('2026-10-31');
    expect(lastCompleteDay(at(2026, 11, 5, 5), 72, NY)).toBe('2026-11-01');
    // 2026-03-07 (EST) ends 2026-03-08T05:00Z → complete at 2026-03-11T05:00Z (01:00 EDT, not midnight)
    expect(lastCompleteDay(at(2026, 3, 11, 4, 30), 72, NY)).toBe('2026-03-06');
    expect(lastCompleteDay(at(2026, 3, 11, 5), 72, NY)).toBe('2026-03-07');
  });

  it('isDayComplete takes instants as ms or ISO strings with an offset', () => {
    expect(isDayComplete('2026-11-21T00:00:00Z', 72, '2026-11-24T00:00:00Z')).toBe(true);
    expect(isDayComplete('2026-11-21T00:00:00Z', 72, '2026-11-23T23:59:59.999Z')).toBe(false);
    expect(isDayComplete(at(2026, 11, 21), 72, '2026-11-23T19:00:00-05:00')).toBe(true);
    expect(() => isDayComplete('2026-11-21T00:00:00', 72, at(2026, 11, 24))).toThrow(/offset/);
  });

  it('agrees with lastCompleteDay hour by hour through the fall-back and spring-forward weeks', () => {
    for (const start of [at(2026, 10, 30), at(2026, 3, 6)]) {
      for (let t = start; t < start + 8 * 24 * H; t += H) {
        const last = lastCompleteDay(t, 72, NY);
        expect(isDayComplete(zonedDayEndMs(last, NY), 72, t)).toBe(true);
        expect(isDayComplete(zonedDayEndMs(addDays(last, 1), NY), 72, t)).toBe(false);
      }
    }
  });

  it('a spike/drop evaluation of a day that is not complete is refused', () => {
    const early = change(spike, BASE_100, '180', { asOf: '2026-11-23T23:59:59.999Z' });
    expect(early).toMatchObject({ evaluated: false, firing: false, window: '2026-11-20', value: null });
    expect(early.message).toBe(
      'logs_ingested_bytes for client-a on 2026-11-20: not evaluated: the day is not complete until 2026-11-24T00:00:00Z (its end + 72 h lateness); the last complete day is 2026-11-19',
    );
    expect(change(spike, BASE_100, '180', { asOf: '2026-11-24T00:00:00Z' }).firing).toBe(true);
    // New York, the 25-hour 2026-11-01: complete at 2026-11-05T05:00Z, not at 00:00Z or 04:00Z
    const ny = { day: '2026-11-01', timeZone: NY };
    expect(change(spike, BASE_100, '180', { ...ny, asOf: at(2026, 11, 5, 4, 59) }).evaluated).toBe(false);
    expect(change(spike, BASE_100, '180', { ...ny, asOf: at(2026, 11, 5, 5) }).firing).toBe(true);
  });
});

describe('a day without any data', () => {
  it('is a gap, not a drop, even after data resumed; explicit zeros are a drop', () => {
    const gap = evaluateChange(drop, {
      subject: 'logs_ingested_bytes for client-a',
      unit: 'GB',
      day: '2026-11-20',
      values: [...BASE_100, null],
      asOf: at(2026, 11, 24, 10),
      latenessHours: 72,
      timeZone: 'UTC',
    });
    expect(gap).toMatchObject({ evaluated: false, firing: false });
    expect(gap.message).toContain('no data arrived for the day; a gap is a stall, not a drop');
    expect(change(drop, BASE_100, '0').firing).toBe(true);
  });
});

describe('stall', () => {
  const last = at(2026, 11, 20, 10); // the last hour with data: 10:00–11:00
  it('fires once the silence after the last hour with data is longer than the lateness window', () => {
    expect(isStalled(last, at(2026, 11, 23, 11), 72, true)).toBe(false); // exactly 72 h of silence
    expect(isStalled(last, at(2026, 11, 23, 11) + 1, 72, true)).toBe(true);
    expect(isStalled(last, at(2026, 11, 30), 72, false)).toBe(false); // no usage in the last 7 days
    expect(isStalled(null, at(2026, 11, 30), 72, true)).toBe(false);
  });

  it('says since when data stopped arriving; a scope without recent usage is not evaluated', () => {
    const s = { subject: 'logs_ingested_bytes for client-a', lastDataMs: last, latenessHours: 72 };
    expect(evaluateStall({ ...s, asOfMs: at(2026, 11, 23, 13), hadUsageInLast7Days: true })).toEqual({
      kind: 'stall',
      evaluated: true,
      firing: true,
      window: '2026-11-20T10:00:00Z',
      since: '2026-11-20T10:00:00Z',
      message:
        'logs_ingested_bytes for client-a: data stopped arriving since 2026-11-20T10:00:00Z (no data for 74 h, more than the 72 h lateness window)',
    });
    expect(evaluateStall({ ...s, asOfMs: at(2026, 11, 21), hadUsageInLast7Days: true })).toMatchObject({
      evaluated: true,
      firing: false,
      window: '2026-11-20T10:00:00Z',
    });
    expect(evaluateStall({ ...s, asOfMs: at(2026, 12, 1), hadUsageInLast7Days: false })).toMatchObject({
      evaluated: false,
      firing: false,
    });
  });

  it('a stalled scope is never reported as a drop', () => {
    // data stopped after 2026-11-20T10:00:00Z; 2026-11-21 has no data at all
    const stall = { lastDataMs: last, hadUsageInLast7Days: true };
    const asOf = at(2026, 11, 23, 12);
    expect(isStalled(last, asOf, 72, true)).toBe(true);
    const notComplete = change(drop, BASE_100, '0', { day: '2026-11-21', asOf, stall });
    expect(notComplete).toMatchObject({ evaluated: false, firing: false });
    expect(notComplete.message).toContain('not complete until 2026-11-25T00:00:00Z');
    // once 2026-11-21 is complete and the scope is still stalled, the drop is refused as a stall
    const later = { day: '2026-11-21', asOf: at(2026, 11, 25) };
    expect(change(drop, BASE_100, '0', later).firing).toBe(true); // what a drop rule alone would say
    const refused = change(drop, BASE_100, '0', { ...later, stall });
    expect(refused).toMatchObject({ evaluated: false, firing: false });
    expect(refused.message).toBe(
      'logs_ingested_bytes for client-a on 2026-11-21: not evaluated: data stopped arriving since 2026-11-20T10:00:00Z; that is a stall, not a drop',
    );
    // a day that ended before the data stopped is still evaluated
    expect(change(drop, BASE_100, '40', { day: '2026-11-19', asOf: at(2026, 11, 25), stall }).firing).toBe(
      true,
    );
    // the stall rule is what fires
    expect(
      evaluateStall({
        subject: 's',
        lastDataMs: last,
        asOfMs: at(2026, 11, 25),
        latenessHours: 72,
        hadUsageInLast7Days: true,
      }).firing,
    ).toBe(true);
  });
});

describe('notification state', () => {
  const t0 = at(2026, 11, 21, 10);
  const firing = (window: string) => ({ firing: true, window });
  const ok = (window: string) => ({ firing: false, window });

  it('fires once, then stays quiet while it keeps firing', () => {
    const s1 = nextAlertState(undefined, firing('2026-11-20'), { asOfMs: t0 });
    expect(s1).toEqual({
      state: 'firing',
      lastNotifiedMs: t0,
      window: '2026-11-20',
      notify: 'fire',
      noticeWindow: '2026-11-20',
    });
    const s2 = nextAlertState(s1, firing('2026-11-20'), { asOfMs: t0 + H });
    expect(s2).toMatchObject({ state: 'firing', notify: 'none', lastNotifiedMs: t0 });
    const s3 = nextAlertState(s2, firing('2026-11-21'), { asOfMs: t0 + 1000 * H });
    expect(s3).toMatchObject({ state: 'firing', notify: 'none', lastNotifiedMs: t0, window: '2026-11-21' });
  });

  it('renotifies when renotify hours passed since the last notice', () => {
    const opts = (h: number) => ({ asOfMs: t0 + h, renotifyHours: 24 });
    let s: AlertState = nextAlertState(undefined, firing('2026-11'), opts(0));
    const seen: string[] = [];
    const steps: [string, number][] = [
      ['23 h', 23 * H],
      ['24 h − 1 ms', 24 * H - 1],
      ['24 h', 24 * H],
      ['47 h (23 h after the renotify)', 47 * H],
      ['48 h − 1 ms', 48 * H - 1],
      ['48 h', 48 * H],
    ];
    for (const [label, h] of steps) {
      const next = nextAlertState(s, firing('2026-11'), opts(h));
      seen.push(`${label}: ${next.notify}`);
      s = next;
    }
    expect(seen).toEqual([
      '23 h: none',
      '24 h − 1 ms: none',
      '24 h: renotify',
      '47 h (23 h after the renotify): none',
      '48 h − 1 ms: none',
      '48 h: renotify',
    ]);
    expect(s.lastNotifiedMs).toBe(t0 + 48 * H);
  });

  it('resolves exactly once; ok → ok sends nothing', () => {
    const s1 = nextAlertState(undefined, firing('2026-11-20'), { asOfMs: t0 });
    const s2 = nextAlertState(s1, ok('2026-11-21'), { asOfMs: t0 + 24 * H });
    expect(s2).toEqual({
      state: 'ok',
      lastNotifiedMs: t0 + 24 * H,
      window: '2026-11-21',
      notify: 'resolve',
      noticeWindow: '2026-11-20',
    });
    expect(nextAlertState(s2, ok('2026-11-21'), { asOfMs: t0 + 25 * H }).notify).toBe('none');
    expect(nextAlertState(s2, ok('2026-11-22'), { asOfMs: t0 + 48 * H }).notify).toBe('none');
    expect(nextAlertState(undefined, ok('2026-11-22'), { asOfMs: t0 })).toEqual({
      state: 'ok',
      window: '2026-11-22',
      notify: 'none',
    });
  });

  it('retracts when restated data shows the same window did not fire after all', () => {
    const s1 = nextAlertState(undefined, firing('2026-11-20'), { asOfMs: t0 });
    const s2 = nextAlertState(s1, ok('2026-11-20'), { asOfMs: t0 + 5 * H });
    expect(s2).toMatchObject({ state: 'ok', notify: 'retract', noticeWindow: '2026-11-20' });
    expect(nextAlertState(s2, ok('2026-11-20'), { asOfMs: t0 + 6 * H }).notify).toBe('none');
  });

  it('ignores evaluations that were not made and stale ones for an older window', () => {
    const s1 = nextAlertState(undefined, firing('2026-11-21'), { asOfMs: t0 });
    const notMade = nextAlertState(
      s1,
      { firing: false, window: '2026-11-22', evaluated: false },
      { asOfMs: t0 + H },
    );
    expect(notMade).toEqual({ ...s1, notify: 'none' });
    const stale = nextAlertState(s1, ok('2026-11-20'), { asOfMs: t0 + H });
    expect(stale).toEqual({ ...s1, notify: 'none' });
  });

  it('a projected threshold that falls back resolves; a month-to-date one restated lower retracts', () => {
    const base = { subject: 'x', unit: 'u', month: '2026-11', included: '100' };
    const proj = { measure: 'projected' as const, percent_of_included: 80 };
    const p1 = evaluateThreshold(proj, { ...base, asOfMs: at(2026, 11, 15, 10), value: '90' });
    const p2 = evaluateThreshold(proj, { ...base, asOfMs: at(2026, 11, 15, 11), value: '70' });
    const s1 = nextAlertState(undefined, p1, { asOfMs: at(2026, 11, 15, 10) });
    expect(nextAlertState(s1, p2, { asOfMs: at(2026, 11, 15, 11) }).notify).toBe('resolve');
    const mtd = { measure: 'mtd' as const, percent_of_included: 80 };
    const m1 = evaluateThreshold(mtd, { ...base, asOfMs: at(2026, 11, 15, 10), value: '90' });
    const m2 = evaluateThreshold(mtd, { ...base, asOfMs: at(2026, 11, 15, 11), value: '70' });
    const t1 = nextAlertState(undefined, m1, { asOfMs: at(2026, 11, 15, 10) });
    expect(nextAlertState(t1, m2, { asOfMs: at(2026, 11, 15, 11) }).notify).toBe('retract');
  });
});

describe('event identity', () => {
  const e = {
    accountId: 'acme',
    ruleId: 'logs-spike',
    scopeKey: 'org=client-a;product=logs',
    window: '2026-11-20',
  };
  it('is alert/<account>/<rule>/<scope>/<window>/<notify>', () => {
    expect(alertEventKey({ ...e, notify: 'fire' })).toBe(
      'alert/acme/logs-spike/org=client-a;product=logs/2026-11-20/fire',
    );
    expect(alertEventKey({ ...e, notify: 'retract' })).toBe(
      'alert/acme/logs-spike/org=client-a;product=logs/2026-11-20/retract',
    );
  });
  it('escapes / and % inside parts; a renotify carries its instant', () => {
    expect(alertEventKey({ ...e, scopeKey: 'tags=path:/var/50%', notify: 'resolve' })).toBe(
      'alert/acme/logs-spike/tags=path:%2Fvar%2F50%25/2026-11-20/resolve',
    );
    expect(() => alertEventKey({ ...e, notify: 'renotify' })).toThrow(/atMs/);
    expect(alertEventKey({ ...e, notify: 'renotify', atMs: at(2026, 11, 21) })).toBe(
      'alert/acme/logs-spike/org=client-a;product=logs/2026-11-20/renotify@2026-11-21T00:00:00.000Z',
    );
  });
  it('scope keys are stable: sorted, deduplicated tags; "account" when unscoped', () => {
    expect(alertScopeKey({})).toBe('account');
    expect(
      alertScopeKey({ org: 'client-a', product: 'logs', tags: ['team:ops', 'env:prod', 'team:ops'] }),
    ).toBe('org=client-a;product=logs;tags=env:prod,team:ops');
  });
});

// ------------------------------------------------------------------------------------------------ alert mail

describe('alert mail words', () => {
  it('pluralises the unit after its quantity: 203 hosts, 1 host, 12.5 GB', () => {
    expect(
      [
        ['203', 'host'],
        ['1', 'host'],
        ['0', 'host'],
        ['-1', 'host'],
        ['12.5', 'GB'],
        ['2', 'million events'],
        ['1234567.5', 'metric'],
        ['3', 'query'],
        ['2', 'box'],
        ['4', '10k test runs'],
        ['4', '10k'],
      ].map(([v, u]) => qty(v as string, u as string)),
    ).toEqual([
      '203 hosts',
      '1 host',
      '0 hosts',
      '-1 host',
      '12.5 GB',
      '2 million events',
      '1,234,567.5 metrics',
      '3 queries',
      '2 boxes',
      '4 10k test runs',
      '4 10k',
    ]);
  });

  it('says the window in words, in the account time zone', () => {
    expect(windowWords('threshold', '2026-11', 'UTC')).toBe('November 2026 to date');
    expect(windowWords('threshold', '2026-11@2026-11-15T10:00:00Z', 'UTC')).toBe(
      'November 2026, projected to its end',
    );
    expect(windowWords('spike', '2026-11-29', 'UTC')).toBe('the day Sunday 29 November 2026');
    // 23:00 UTC on Sunday is already Monday in Paris
    expect(windowWords('stall', '2026-11-29T23:00:00Z', 'Europe/Paris')).toBe(
      'since Mon 30 Nov 2026, 00:00 Europe/Paris (the last hour with data)',
    );
  });

  it('wraps text within the width, never between a number and its unit or a currency and its amount', () => {
    const lines = wrap('the projected usage is 1,234.5 GB and costs USD 164.10 at the on-demand price', 24);
    expect(lines.every((l) => l.length <= 24)).toBe(true);
    expect(lines.join('\n')).toContain('1,234.5 GB');
    expect(lines.join('\n')).toContain('USD 164.10');
  });
});

describe('alert mail cost', () => {
  const product = { code: 'logs_indexed_events', unit: 'million events', aggregation: 'sum' };
  const priced = { committed_price: '1.70', on_demand_price: '2.55' };

  it('threshold: projected billable − included, × the on-demand price, exact and rounded only to cents', () => {
    const c = thresholdCost({
      product,
      price: priced,
      estimate: { projectedBillable: '114.3528', included: '50' },
      month: '2026-10',
      currency: 'EUR',
    });
    // 64.3528 × 2.55 = 164.09964
    expect(c.amount).toBe('164.09964');
    expect(c.headline).toBe('EUR 164.10 projected on-demand');
    expect(c.detail).toContain('64.3528 million events (projected billable 114.3528 million events −');
    expect(c.detail).toContain('× EUR 2.55 per million events = EUR 164.10 (an estimate)');
  });

  it('threshold within the included quantity: no on-demand cost, and no amount', () => {
    const c = thresholdCost({
      product,
      price: priced,
      estimate: { projectedBillable: '40', included: '50' },
      month: '2026-10',
      currency: 'USD',
    });
    expect(c.headline).toBe('no on-demand cost projected');
    expect(c.amount).toBeUndefined();
  });

  it('a product without a commitments row or with both prices 0 is "not priced", never 0.00', () => {
    for (const price of [null, { committed_price: '0', on_demand_price: '0' }]) {
      const t = thresholdCost({
        product,
        price,
        estimate: { projectedBillable: '114', included: '0' },
        month: '2026-10',
        currency: 'USD',
      });
      const c = changeCost({ product, price, change: '96', currency: 'USD' });
      expect([t.headline, c?.headline]).toEqual(['not priced', 'not priced']);
      expect(`${t.detail}${c?.detail}`).not.toContain('0.00');
    }
  });

  it('spike/drop: the change × price, per day for a sum, per month for billed-on-the-month products', () => {
    const drop = changeCost({ product, price: priced, change: '-19.25', currency: 'USD' });
    expect(drop?.amount).toBe('-49.0875');
    expect(drop?.headline).toBe('about -USD 49.09 for the day');
    const hosts = changeCost({
      product: { code: 'infra_hosts', unit: 'host', aggregation: 'p99' },
      price: { committed_price: '15', on_demand_price: '18' },
      change: '10',
      currency: 'USD',
    });
    expect(hosts?.detail).toBe(
      'Cost of the change (an estimate at the on-demand price): +10 hosts × USD 18.00 per host ≈ ' +
        '+USD 180.00 per month if it lasts.',
    );
  });
});

describe('alert mail', () => {
  const account = { name: 'Acme MSP', timezone: 'UTC', currency: 'USD', latenessHours: 72 };
  const stall: AlertMailInput = {
    ruleId: 'stall',
    kind: 'stall',
    notify: 'fire',
    window: '2026-10-16T23:00:00Z',
    asOf: '2026-10-20T12:00:00.000Z',
    message: 'client-c: data stopped arriving since 2026-10-16T23:00:00Z',
    account,
    orgName: 'Client C',
    tags: [],
    rule: { id: 'stall', kind: 'stall' },
    evaluation: { kind: 'stall', evaluated: true, firing: true, since: '2026-10-16T23:00:00Z' },
    dataCompleteThrough: '2026-10-17T12:00:00.000Z',
    price: null,
  };
  const threshold: AlertMailInput = {
    ruleId: 'hosts-80',
    kind: 'threshold',
    notify: 'fire',
    window: '2026-11@2026-11-15T10:00:00Z',
    asOf: '2026-11-15T10:00:00.000Z',
    message: 'infra_hosts for the account: projected usage for 2026-11 is 203 host',
    account: { ...account, currency: 'EUR' },
    product: { code: 'infra_hosts', unit: 'host', aggregation: 'p99' },
    tags: [],
    rule: {
      id: 'hosts-80',
      kind: 'threshold',
      scope: { product: 'infra_hosts' },
      measure: 'projected',
      above: '150',
    },
    evaluation: {
      kind: 'threshold',
      measure: 'projected',
      value: '203',
      limit: '150',
      percent: '135.3',
      firing: true,
    },
    price: { committed_price: '15.00', on_demand_price: '18.00' },
    estimate: { projectedBillable: '203', included: '40' },
    month: {
      month: '2026-11',
      days: Array.from({ length: 30 }, (_, i) => `2026-11-${String(i + 1).padStart(2, '0')}`),
      points: [
        { day: '2026-11-13', mtd: '180', projected: '180' },
        { day: '2026-11-14', mtd: '199', projected: '199' },
        { day: '2026-11-15', through: '10:00', mtd: '203', projected: '203' },
      ],
    },
  };

  it('names, money and the window in words; no scope or window key; text lines under 100 columns', () => {
    const m = renderAlertMail(threshold);
    expect(m.subject).toBe(
      '[orgtally] ALERT Acme MSP: usage threshold — infra_hosts for the account, ' +
        'November 2026, projected to its end: EUR 2,934.00 projected on-demand',
    );
    // (203 − 40) × 18.00
    expect(m.text).toMatch(/\nCost: +EUR 2,934.00 projected on-demand\n/);
    expect(m.text).toContain('Product:      infra_hosts, in hosts, billed on');
    expect(m.text.replace(/\s+/g, ' ')).toContain(
      'is 203 hosts: above the limit of 150 hosts (135.3 % of it).',
    );
    expect(m.text).toMatch(/Sun 15 Nov \(to 10:00\) +203 +203\n/);
    expect(m.text).toMatch(/\nrule hosts-80\n$/);
    for (const part of [m.subject, m.text]) expect(part).not.toMatch(/2026-11|product=|org=|\d host\b/);
    expect(m.text.split('\n').filter((l) => l.length >= 100)).toEqual([]);
    expect(renderAlertMail(threshold)).toEqual(m);
  });

  it("a notice that watches one org never shows the account's projection, included quantity or overage", () => {
    const m = renderAlertMail({
      ...threshold,
      orgName: 'Client B',
      rule: { ...threshold.rule, scope: { org: 'client-b', product: 'infra_hosts' } },
    });
    expect(m.text).toMatch(/\nCost: +billed with the account\n/);
    expect(m.text).not.toContain('2,934.00');
    expect(m.text).not.toContain('40 hosts included');
    expect(m.html).not.toContain('2,934.00');
  });

  it('the HTML shows the inline image by its cid, scaled to the width it gets', () => {
    const m = renderAlertMail(threshold, { cid: 'c1@orgtally', width: 560, height: 220, alt: 'Chart' });
    expect(m.html).toContain(
      '<img src="cid:c1@orgtally" width="560" height="220" alt="Chart" style="display:block;width:100%;max-width:560px;',
    );
    expect(renderAlertMail(threshold).html).not.toContain('<img');
  });

  it('a stall names the org and the last hour with data; it has no cost and no chart', () => {
    const m = renderAlertMail(stall);
    expect(m.subject).toBe(
      '[orgtally] ALERT Acme MSP: data stopped arriving — Client C since Fri 16 Oct 2026, 23:00 UTC',
    );
    expect(m.text.replace(/\s+/g, ' ')).toContain(
      'No data for Client C has arrived since Fri 16 Oct 2026, 23:00 UTC',
    );
    expect(m.text).not.toContain('Cost');
    expect(m.text).not.toMatch(/client-c|2026-10/);
    expect(alertChart(stall)).toBeNull();
    const resolved = renderAlertMail({ ...stall, notify: 'resolve' });
    expect(resolved.subject).toMatch(/^\[orgtally\] RESOLVED Acme MSP: data stopped arriving — Client C/);
    expect(resolved.text).toContain('Resolved: the condition no longer holds.');
  });

  it('the threshold chart draws the month to date, the projection to the month end and the limit', () => {
    const c = alertChart(threshold);
    const series = (c?.option.series ?? []) as { name: string; data: (number | null)[] }[];
    expect(series.map((s) => s.name)).toEqual([
      'Month to date',
      'Projected: 203',
      'Limit: 150',
      'Included: 40',
    ]);
    expect(series[0]?.data.slice(11, 16)).toEqual([null, 180, 199, 203, null]);
    expect([series[1]?.data[14], series[1]?.data[29]]).toEqual([203, 203]);
    expect(c?.alt).toBe(
      'Chart of November 2026: month-to-date usage by day, 203 hosts on Sun 15 Nov at 10:00, projected ' +
        "203 hosts at the month's end; the projected limit is 150 hosts.",
    );
  });
});
