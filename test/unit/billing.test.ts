import { accountFigures, aggregate, p99Rank, split } from '../../domain/billing';
import { allocate, dec, divRound, sum, text, type Dec } from '../../domain/exact';

const d = (xs: (string | number)[]) => xs.map((x) => dec(String(x)));
const t = (x: Dec) => text(x);

describe('exact decimals', () => {
  it('parses, adds and prints without floats', () => {
    expect(t(sum(d(['0.1', '0.2'])))).toBe('0.3');
    expect(t(dec('007.500'))).toBe('7.5');
    expect(t(sum(d(['99999999999999999.99', '0.01'])))).toBe('100000000000000000');
  });
  it('divides rounding half away from zero', () => {
    expect(t(divRound(dec('1'), dec('3'), 6))).toBe('0.333333');
    expect(t(divRound(dec('2'), dec('3'), 6))).toBe('0.666667');
    expect(t(divRound(dec('0.0000005'), dec('1'), 6))).toBe('0.000001');
    expect(t(divRound(dec('0.00000049'), dec('1'), 6))).toBe('0');
  });
  it('rejects what is not a plain decimal', () => {
    expect(() => dec('1e5')).toThrow(/not a plain decimal/);
    expect(() => dec('')).toThrow();
  });
});

describe('largest-remainder allocation', () => {
  it('splits a dollar in three: the cents add up, the first item takes the odd cent', () => {
    expect(allocate(dec('1.00'), d([1, 1, 1]), 2).map(t)).toEqual(['0.34', '0.33', '0.33']);
  });
  it('gives leftover units to the largest remainders', () => {
    // 10 × (0.15, 0.35, 0.5) = 1.5, 3.5, 5 → floors 1, 3, 5; one unit left; remainders tie → earlier item
    expect(allocate(dec('10'), d(['0.15', '0.35', '0.5']), 0).map(t)).toEqual(['2', '3', '5']);
    expect(allocate(dec('10'), d(['0.14', '0.36', '0.5']), 0).map(t)).toEqual(['1', '4', '5']);
  });
  it('always adds up exactly, for any weights', () => {
    for (let seed = 1; seed < 200; seed++) {
      const weights = Array.from({ length: 1 + (seed % 7) }, (_, i) => dec(String((seed * (i + 3)) % 17)));
      const total = dec(
        `${seed}.${String(seed * 7)
          .padStart(2, '0')
          .slice(-2)}`,
      );
      expect(t(sum(allocate(total, weights, 2)))).toBe(t(total));
    }
  });
  it('with all weights zero the first item takes everything', () => {
    expect(allocate(dec('5'), d([0, 0]), 2).map(t)).toEqual(['5', '0']);
  });
  it('refuses a total finer than the unit', () => {
    expect(() => allocate(dec('0.001'), d([1]), 2)).toThrow(/more than 2 decimals/);
  });
  it('splits several figures at their own scales', () => {
    const rows = split(
      { usage: { total: dec('10'), scale: 6 }, cost: { total: dec('0.10'), scale: 2 } },
      d([1, 2]),
    );
    expect(rows.map((r) => [t(r.usage), t(r.cost)])).toEqual([
      ['3.333333', '0.03'],
      ['6.666667', '0.07'],
    ]);
  });
});

describe('aggregation rules', () => {
  it('p99 drops the top floor(1 % × hours) and takes the next', () => {
    expect([744, 743, 745, 720, 672, 100, 99].map((h) => p99Rank(h))).toEqual([8, 8, 8, 8, 7, 2, 1]);
    expect(p99Rank(721, '2')).toBe(15);
    expect(p99Rank(744, '0')).toBe(1);
    expect(p99Rank(744, '0.5')).toBe(4);
  });
  it('p99 over a 744-hour month is the 8th highest hour', () => {
    const series = d([100, 90, 80, 70, 60, 50, 40, 30, 20, ...Array(700).fill(1)]);
    expect(t(aggregate('p99', series, 744))).toBe('30');
  });
  it('p99 in a DST month (743 h) is still the 8th; with fewer hours of data than the rank, missing hours make it 0', () => {
    expect(t(aggregate('p99', d([9, 8, 7, 6, 5, 4, 3, 2, 1]), 743))).toBe('2');
    expect(t(aggregate('p99', d([9, 8, 7, 6, 5, 4, 3]), 743))).toBe('0');
  });
  it('avg counts missing hours as 0 and rounds half up to 6 decimals', () => {
    expect(t(aggregate('avg', d([744]), 744))).toBe('1');
    expect(t(aggregate('avg', d([1, 1]), 743))).toBe('0.002692'); // 2 / 743 = 0.0026917…
    expect(t(aggregate('avg', d(['0.0000005']), 1))).toBe('0.000001');
  });
  it('sum, max and last', () => {
    expect(t(aggregate('sum', d(['1.5', '2.25']), 744))).toBe('3.75');
    expect(t(aggregate('max', d([3, 9, 4]), 744))).toBe('9');
    expect(t(aggregate('last', d([3, 9, 4]), 744))).toBe('4');
    expect(t(aggregate('last', [], 744))).toBe('0');
  });
  it('refuses more values than hours', () => {
    expect(() => aggregate('sum', d([1, 2]), 1)).toThrow(/2 hourly values for a 1-hour month/);
  });
});

describe('commitments, allotments, on-demand', () => {
  it("reproduces Datadog's worked example exactly", () => {
    const spans = accountFigures({
      billable: dec('2000'),
      committed: dec('100'),
      allotment: { grantorCommitted: dec('10'), grantorBillable: dec('5'), perUnit: dec('150') },
      committedPrice: dec('0.10'),
      onDemandPrice: dec('0.10'),
    });
    expect([spans.allotment, spans.included, spans.onDemand, spans.onDemandCost].map(t)).toEqual([
      '1500',
      '1600',
      '400',
      '40',
    ]);
  });
  it('billable above the commitment: the grantor allotment follows billable usage', () => {
    const f = accountFigures({
      billable: dec('2000'),
      committed: dec('0'),
      allotment: { grantorCommitted: dec('10'), grantorBillable: dec('12'), perUnit: dec('150') },
      committedPrice: dec('0'),
      onDemandPrice: dec('0.1'),
    });
    expect([f.included, f.onDemand, f.onDemandCost].map(t)).toEqual(['1800', '200', '20']);
  });
  it('usage below what is included: no on-demand, the commitment is still paid', () => {
    const f = accountFigures({
      billable: dec('3.5'),
      committed: dec('10'),
      committedPrice: dec('31'),
      onDemandPrice: dec('36'),
    });
    expect([f.onDemand, f.committedCost, f.onDemandCost, f.totalCost].map(t)).toEqual([
      '0',
      '310',
      '0',
      '310',
    ]);
  });
  it('rounds each cost half up to cents', () => {
    const f = accountFigures({
      billable: dec('10.005'),
      committed: dec('0'),
      committedPrice: dec('0'),
      onDemandPrice: dec('1'),
    });
    expect(t(f.onDemandCost)).toBe('10.01');
  });
  it('hourly mode: each hour can use only its share of the allotment', () => {
    // allotment 730 / month → 730 × 12 / 8760 = 1 per hour; hours of 3, 0.5, 1 → usable 1 + 0.5 + 1 = 2.5
    const f = accountFigures({
      billable: dec('4.5'),
      committed: dec('1'),
      allotment: { grantorCommitted: dec('1'), grantorBillable: dec('0'), perUnit: dec('730') },
      hourlyBillable: d([3, '0.5', 1]),
      committedPrice: dec('0'),
      onDemandPrice: dec('2'),
    });
    expect([f.allotment, f.included, f.onDemand, f.onDemandCost].map(t)).toEqual(['2.5', '3.5', '1', '2']);
    // the same month in monthly mode: everything is included
    const monthly = accountFigures({
      billable: dec('4.5'),
      committed: dec('1'),
      allotment: { grantorCommitted: dec('1'), grantorBillable: dec('0'), perUnit: dec('730') },
      committedPrice: dec('0'),
      onDemandPrice: dec('2'),
    });
    expect(t(monthly.onDemand)).toBe('0');
  });
});
