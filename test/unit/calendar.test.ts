import { dayInZone } from '../../domain/calendar';

const at = (y: number, mo: number, d: number, h: number, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);

describe('dayInZone', () => {
  it('uses the UTC calendar day in UTC', () => {
    expect(dayInZone(at(2026, 3, 1, 0, 0), 'UTC')).toBe('2026-03-01');
    expect(dayInZone(at(2026, 3, 1, 23, 59), 'UTC')).toBe('2026-03-01');
    expect(dayInZone(at(2026, 3, 2, 0, 0), 'UTC')).toBe('2026-03-02');
  });

  it('in America/New_York (EST, UTC-5) the day changes at 05:00 UTC', () => {
    expect(dayInZone(at(2026, 1, 15, 4, 59), 'America/New_York')).toBe('2026-01-14');
    expect(dayInZone(at(2026, 1, 15, 5, 0), 'America/New_York')).toBe('2026-01-15');
    // same instant, different days
    expect(dayInZone(at(2026, 1, 15, 3, 0), 'UTC')).toBe('2026-01-15');
    expect(dayInZone(at(2026, 1, 15, 3, 0), 'America/New_York')).toBe('2026-01-14');
  });

  it('in America/New_York (EDT, UTC-4) the day changes at 04:00 UTC', () => {
    expect(dayInZone(at(2026, 7, 1, 3, 59), 'America/New_York')).toBe('2026-06-30');
    expect(dayInZone(at(2026, 7, 1, 4, 0), 'America/New_York')).toBe('2026-07-01');
  });

  it('follows the spring-forward day (2026-03-08 is 23 hours long in New York)', () => {
    // 2026-03-08 starts at 05:00 UTC (EST) and ends at 04:00 UTC on 03-09 (EDT)
    expect(dayInZone(at(2026, 3, 8, 4, 59), 'America/New_York')).toBe('2026-03-07');
    expect(dayInZone(at(2026, 3, 8, 5, 0), 'America/New_York')).toBe('2026-03-08');
    expect(dayInZone(at(2026, 3, 8, 7, 30), 'America/New_York')).toBe('2026-03-08');
    expect(dayInZone(at(2026, 3, 9, 3, 59), 'America/New_York')).toBe('2026-03-08');
    expect(dayInZone(at(2026, 3, 9, 4, 0), 'America/New_York')).toBe('2026-03-09');
  });

  it('follows the fall-back day (2026-11-01 is 25 hours long in New York)', () => {
    // 2026-11-01 starts at 04:00 UTC (EDT) and ends at 05:00 UTC on 11-02 (EST)
    expect(dayInZone(at(2026, 11, 1, 3, 59), 'America/New_York')).toBe('2026-10-31');
    expect(dayInZone(at(2026, 11, 1, 4, 0), 'America/New_York')).toBe('2026-11-01');
    expect(dayInZone(at(2026, 11, 2, 4, 30), 'America/New_York')).toBe('2026-11-01');
    expect(dayInZone(at(2026, 11, 2, 5, 0), 'America/New_York')).toBe('2026-11-02');
  });

  it('crosses the year boundary', () => {
    expect(dayInZone(at(2027, 1, 1, 2, 0), 'America/New_York')).toBe('2026-12-31');
    expect(dayInZone(at(2027, 1, 1, 2, 0), 'UTC')).toBe('2027-01-01');
  });

  it('handles zones ahead of UTC, including half-hour offsets', () => {
    // Asia/Kolkata is UTC+05:30 all year
    expect(dayInZone(at(2026, 3, 1, 18, 29), 'Asia/Kolkata')).toBe('2026-03-01');
    expect(dayInZone(at(2026, 3, 1, 18, 30), 'Asia/Kolkata')).toBe('2026-03-02');
    // Asia/Tokyo is UTC+9
    expect(dayInZone(at(2026, 12, 31, 15, 0), 'Asia/Tokyo')).toBe('2027-01-01');
  });

  it('pads month and day with zeros', () => {
    expect(dayInZone(at(2026, 1, 5, 12), 'UTC')).toBe('2026-01-05');
  });

  it('throws on an unknown time zone', () => {
    expect(() => dayInZone(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});
