import { createHash } from 'node:crypto';
import {
  SAMPLE_ANOMALIES,
  sampleAnomalyDays,
  sampleUsage,
  type SampleRecord,
} from '../../scripts/lib/sample-data';

const NOV_1 = Date.parse('2026-11-01T00:00:00Z');
/** The demo's end of data on 2026-11-29: spike 2026-11-21, drop 2026-11-23, client-c silent from the 24th. */
const END = Date.parse('2026-11-29T00:00:00Z');

function digest(records: Iterable<SampleRecord>): { records: number; sha256: string } {
  const h = createHash('sha256');
  let n = 0;
  for (const r of records) {
    h.update(`${JSON.stringify(r)}\n`);
    n++;
  }
  return { records: n, sha256: h.digest('hex') };
}

/** Σ value per `day org product`. */
function dailyTotals(records: Iterable<SampleRecord>): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) {
    const k = `${r.timestamp.slice(0, 10)} ${r.org} ${r.product}`;
    m.set(k, (m.get(k) ?? 0) + Number(r.value));
  }
  return m;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

describe('sampleUsage without anomalies is what it always was', () => {
  // Digests computed from the generator before the anomalies option existed.
  it('November 2026 through the 28th, default seed', () => {
    expect(digest(sampleUsage({ fromMs: NOV_1, toMs: END }))).toEqual({
      records: 88_032,
      sha256: '14e51624119a8e2c513b94686b0daf5ae57bbece239c55352fe55ff0fb6130a2',
    });
  });

  it('one day with an explicit seed (the partner feed)', () => {
    const day = Date.parse('2026-10-15T00:00:00Z');
    expect(digest(sampleUsage({ fromMs: day, toMs: day + 86_400_000, seed: 7 }))).toEqual({
      records: 3_144,
      sha256: '15b257c6e6d9a2c98a88b0157dea6eed0d57b9b84d44a6bdaffc27bedbde74ef',
    });
  });

  it('anomalies of a range ending weeks later do not touch it', () => {
    const later = END + 30 * 86_400_000;
    expect(digest(sampleUsage({ fromMs: NOV_1, toMs: END, anomalies: { endMs: later } })).sha256).toBe(
      '14e51624119a8e2c513b94686b0daf5ae57bbece239c55352fe55ff0fb6130a2',
    );
  });
});

describe('sampleUsage with anomalies near the end of the range', () => {
  const plain = Array.from(sampleUsage({ fromMs: NOV_1, toMs: END }));
  const odd = Array.from(sampleUsage({ fromMs: NOV_1, toMs: END, anomalies: { endMs: END } }));
  const before = dailyTotals(plain);
  const after = dailyTotals(odd);
  const { spike, drop, stall } = SAMPLE_ANOMALIES;

  it('places them relative to the end', () => {
    expect(sampleAnomalyDays(END)).toEqual({
      spikeDay: '2026-11-21',
      dropDay: '2026-11-23',
      stallFromMs: Date.parse('2026-11-24T00:00:00Z'),
    });
  });

  it(`spike: ${spike.org}'s ${spike.product} is ${spike.factor}× on its day, far above the 14 days before`, () => {
    const k = `2026-11-21 ${spike.org} ${spike.product}`;
    expect((after.get(k) as number) / (before.get(k) as number)).toBeCloseTo(spike.factor, 2);
    const baseline = median(
      Array.from(
        { length: 14 },
        (_, i) =>
          after.get(`2026-11-${String(7 + i).padStart(2, '0')} ${spike.org} ${spike.product}`) as number,
      ),
    );
    expect(after.get(k) as number).toBeGreaterThan(3 * baseline);
    // the next day is normal again
    const next = `2026-11-22 ${spike.org} ${spike.product}`;
    expect(after.get(next)).toBe(before.get(next));
  });

  it(`drop: ${drop.org}'s ${drop.product} falls to ${drop.factor * 100} % on its day`, () => {
    const k = `2026-11-23 ${drop.org} ${drop.product}`;
    expect((after.get(k) as number) / (before.get(k) as number)).toBeCloseTo(drop.factor, 2);
    const baseline = median(
      Array.from(
        { length: 14 },
        (_, i) =>
          after.get(`2026-11-${String(9 + i).padStart(2, '0')} ${drop.org} ${drop.product}`) as number,
      ),
    );
    expect(after.get(k) as number).toBeLessThan(0.35 * baseline);
  });

  it(`stall: ${stall.org} sends nothing for the last ${stall.daysBeforeEnd} days; the others go on`, () => {
    const from = sampleAnomalyDays(END).stallFromMs;
    const late = odd.filter((r) => Date.parse(r.timestamp) >= from);
    expect(late.filter((r) => r.org === stall.org)).toEqual([]);
    expect(
      odd
        .filter((r) => r.org === stall.org)
        .map((r) => r.timestamp)
        .sort()
        .pop(),
    ).toBe('2026-11-23T23:00:00Z');
    expect(new Set(late.map((r) => r.org))).toEqual(
      new Set(['acme', 'client-a', 'client-a-eu', 'client-b', 'trial-x']),
    );
    expect(late.some((r) => r.timestamp === '2026-11-28T23:00:00Z')).toBe(true);
  });

  it('every other record is exactly the one without anomalies', () => {
    const key = (r: SampleRecord) => `${r.timestamp} ${r.org} ${r.product} ${r.tags.join(',')}`;
    const touched = (r: SampleRecord) =>
      (r.timestamp.startsWith('2026-11-21') && r.org === spike.org && r.product === spike.product) ||
      (r.timestamp.startsWith('2026-11-23') && r.org === drop.org && r.product === drop.product) ||
      (r.org === stall.org && r.timestamp >= '2026-11-24');
    const rest = new Map(odd.filter((r) => !touched(r)).map((r) => [key(r), r.value]));
    const expected = plain.filter((r) => !touched(r));
    expect(rest.size).toBe(expected.length);
    expect(expected.filter((r) => rest.get(key(r)) !== r.value)).toEqual([]);
  });
});
