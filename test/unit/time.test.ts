import { DAY_MS, HOUR_MS, isoHour, parseDurationHours, parseHour } from '../../domain/time';

/** The expected hour, written as UTC fields. */
const hour = (y: number, mo: number, d: number, h: number) => ({
  ok: true,
  hourMs: Date.UTC(y, mo - 1, d, h),
});
const invalid = (input: string) => ({
  ok: false,
  detail: `timestamp "${input}" is not a valid date and time`,
});

describe('constants', () => {
  it('has hour and day lengths in ms', () => {
    expect(HOUR_MS).toBe(3_600_000);
    expect(DAY_MS).toBe(86_400_000);
  });
});

describe('parseHour', () => {
  it('parses Z timestamps and truncates to the hour', () => {
    expect(parseHour('2026-03-01T10:00:00Z')).toEqual(hour(2026, 3, 1, 10));
    expect(parseHour('2026-03-01T10:45:12Z')).toEqual(hour(2026, 3, 1, 10));
    expect(parseHour('2026-03-01T10:59:59Z')).toEqual(hour(2026, 3, 1, 10));
    expect(parseHour('2026-03-01T10:00:00z')).toEqual(hour(2026, 3, 1, 10));
  });

  it('gives a concrete epoch value', () => {
    // 2026-03-01T00:00:00Z = 20513 days after the epoch.
    expect(parseHour('2026-03-01T00:30:00Z')).toEqual({ ok: true, hourMs: 20513 * 86_400_000 });
  });

  it('ignores fractional seconds (dot or comma)', () => {
    expect(parseHour('2026-03-01T10:59:59.999Z')).toEqual(hour(2026, 3, 1, 10));
    expect(parseHour('2026-03-01T10:59:59,5Z')).toEqual(hour(2026, 3, 1, 10));
    expect(parseHour('2026-03-01T10:15:00.123456789Z')).toEqual(hour(2026, 3, 1, 10));
  });

  it('applies positive and negative offsets, with and without colon', () => {
    expect(parseHour('2026-03-01T10:00:00+02:00')).toEqual(hour(2026, 3, 1, 8));
    expect(parseHour('2026-03-01T10:00:00-0800')).toEqual(hour(2026, 3, 1, 18));
    expect(parseHour('2026-03-01T10:00:00-08:00')).toEqual(hour(2026, 3, 1, 18));
    expect(parseHour('2026-03-01T10:00:00+02')).toEqual(hour(2026, 3, 1, 8));
    expect(parseHour('2026-03-01T10:00:00+00:00')).toEqual(hour(2026, 3, 1, 10));
  });

  it('handles half-hour offsets (+05:30) by truncating the resulting UTC instant', () => {
    // 10:45 at +05:30 is 05:15 UTC → hour 05:00 UTC
    expect(parseHour('2026-03-01T10:45:00+05:30')).toEqual(hour(2026, 3, 1, 5));
    // 10:15 at +05:30 is 04:45 UTC → hour 04:00 UTC
    expect(parseHour('2026-03-01T10:15:00+05:30')).toEqual(hour(2026, 3, 1, 4));
    expect(parseHour('2026-03-01T10:15:00+0530')).toEqual(hour(2026, 3, 1, 4));
  });

  it('crosses day, month and year boundaries through the offset', () => {
    // 00:15 at +05:30 is 18:45 UTC the day before
    expect(parseHour('2026-03-01T00:15:00+05:30')).toEqual(hour(2026, 2, 28, 18));
    // 20:00 at -08:00 on Dec 31 is 04:00 UTC on Jan 1
    expect(parseHour('2026-12-31T20:00:00-08:00')).toEqual(hour(2027, 1, 1, 4));
  });

  it('treats a timestamp without offset as UTC', () => {
    expect(parseHour('2026-03-01T10:30:00')).toEqual(hour(2026, 3, 1, 10));
  });

  it('accepts a space as date/time separator', () => {
    expect(parseHour('2026-03-01 10:30:00')).toEqual(hour(2026, 3, 1, 10));
    expect(parseHour('2026-03-01 10:00:00+01:00')).toEqual(hour(2026, 3, 1, 9));
  });

  it('accepts shorter forms: date only, hour only, hour and minute', () => {
    expect(parseHour('2026-03-01')).toEqual(hour(2026, 3, 1, 0));
    expect(parseHour('2026-03-01T10')).toEqual(hour(2026, 3, 1, 10));
    expect(parseHour('2026-03-01T10:30Z')).toEqual(hour(2026, 3, 1, 10));
  });

  it('trims whitespace around the timestamp', () => {
    expect(parseHour('  2026-03-01T10:30:00Z  ')).toEqual(hour(2026, 3, 1, 10));
  });

  it('accepts Feb 29 in a leap year', () => {
    expect(parseHour('2024-02-29T23:30:00Z')).toEqual(hour(2024, 2, 29, 23));
  });

  it('rejects impossible dates and times instead of rolling them over', () => {
    for (const s of [
      '2026-02-30T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-03-00T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-03-01T24:00:00Z',
      '2026-03-01T25:00:00Z',
      '2026-03-01T10:60:00Z',
      '2026-03-01T10:00:60Z',
    ]) {
      expect(parseHour(s)).toEqual(invalid(s));
    }
  });

  it('rejects invalid offsets', () => {
    expect(parseHour('2026-03-01T10:00:00+24:00')).toEqual({
      ok: false,
      detail: 'timestamp "2026-03-01T10:00:00+24:00" has an invalid offset',
    });
    expect(parseHour('2026-03-01T10:00:00+05:60')).toMatchObject({ ok: false });
  });

  it('rejects strings that are not ISO 8601', () => {
    for (const s of [
      '',
      'yesterday',
      '2026/03/01 10:00:00',
      '01-03-2026',
      '2026-3-1T10:00:00Z',
      '2026-03-01T10:00:00Zjunk',
      '2026-03-01T10:00:00+5',
    ]) {
      expect(parseHour(s)).toEqual({ ok: false, detail: `timestamp "${s}" is not ISO 8601` });
    }
  });

  it('rejects non-strings', () => {
    expect(parseHour(1772359200000)).toEqual({
      ok: false,
      detail: 'timestamp 1772359200000 is not a string',
    });
    expect(parseHour(null)).toEqual({ ok: false, detail: 'timestamp null is not a string' });
    expect(parseHour(undefined)).toEqual({ ok: false, detail: 'timestamp missing is not a string' });
    expect(parseHour(new Date(0))).toMatchObject({ ok: false });
  });
});

describe('isoHour', () => {
  it('formats an hour without milliseconds', () => {
    expect(isoHour(Date.UTC(2026, 2, 1, 5))).toBe('2026-03-01T05:00:00Z');
  });
});

describe('parseDurationHours', () => {
  it('parses hours and days', () => {
    expect(parseDurationHours('72h')).toBe(72);
    expect(parseDurationHours('1h')).toBe(1);
    expect(parseDurationHours('3d')).toBe(72);
    expect(parseDurationHours('1d')).toBe(24);
    expect(parseDurationHours('0h')).toBe(0);
  });

  it('tolerates whitespace', () => {
    expect(parseDurationHours(' 48h ')).toBe(48);
    expect(parseDurationHours('2 d')).toBe(48);
  });

  it('rejects anything else', () => {
    for (const s of ['', '72', 'h', '1.5h', '-1h', '3w', '72 hours', 'h72']) {
      expect(parseDurationHours(s)).toBeUndefined();
    }
  });
});
