import { canonicalDecimal, parseNonNegativeDecimal } from '../../domain/decimal';

const ok = (value: string) => ({ ok: true, value });

describe('parseNonNegativeDecimal: JSON numbers', () => {
  it('accepts finite non-negative numbers', () => {
    expect(parseNonNegativeDecimal(0)).toEqual(ok('0'));
    expect(parseNonNegativeDecimal(12.5)).toEqual(ok('12.5'));
    expect(parseNonNegativeDecimal(150)).toEqual(ok('150'));
  });

  it('turns -0 into 0', () => {
    expect(parseNonNegativeDecimal(-0)).toEqual(ok('0'));
  });

  it('rejects negative numbers', () => {
    expect(parseNonNegativeDecimal(-1)).toEqual({ ok: false, detail: 'value -1 is negative' });
    expect(parseNonNegativeDecimal(-0.001)).toMatchObject({ ok: false });
  });

  it('rejects NaN and infinities', () => {
    expect(parseNonNegativeDecimal(NaN)).toEqual({ ok: false, detail: 'value NaN is not finite' });
    expect(parseNonNegativeDecimal(Infinity)).toEqual({ ok: false, detail: 'value Infinity is not finite' });
    expect(parseNonNegativeDecimal(-Infinity)).toEqual({
      ok: false,
      detail: 'value -Infinity is not finite',
    });
  });
});

describe('parseNonNegativeDecimal: strings', () => {
  it('accepts plain decimals, keeping their exact text', () => {
    expect(parseNonNegativeDecimal('12')).toEqual(ok('12'));
    expect(parseNonNegativeDecimal('12.50')).toEqual(ok('12.50'));
    expect(parseNonNegativeDecimal('0.1')).toEqual(ok('0.1'));
    expect(parseNonNegativeDecimal('.5')).toEqual(ok('.5'));
    expect(parseNonNegativeDecimal('0.000000000001')).toEqual(ok('0.000000000001'));
    expect(parseNonNegativeDecimal('999999999999999999.999999999999')).toEqual(
      ok('999999999999999999.999999999999'),
    );
  });

  it('trims whitespace', () => {
    expect(parseNonNegativeDecimal('  7.25 ')).toEqual(ok('7.25'));
  });

  it('accepts exponents, as plain text', () => {
    expect(parseNonNegativeDecimal('1e3')).toEqual(ok('1000'));
    expect(parseNonNegativeDecimal('1.5E-2')).toEqual(ok('0.015'));
    expect(parseNonNegativeDecimal('2e+4')).toEqual(ok('20000'));
    expect(parseNonNegativeDecimal('12.50e1')).toEqual(ok('125'));
    expect(parseNonNegativeDecimal('0e9')).toEqual(ok('0'));
    expect(parseNonNegativeDecimal(1.5e-7)).toEqual(ok('0.00000015'));
  });

  it('drops a leading +', () => {
    expect(parseNonNegativeDecimal('+3')).toEqual(ok('3'));
    expect(parseNonNegativeDecimal('+1.5e3')).toEqual(ok('1500'));
  });

  it('rejects negative strings', () => {
    expect(parseNonNegativeDecimal('-1')).toEqual({ ok: false, detail: 'value "-1" is negative' });
    expect(parseNonNegativeDecimal('-0.5')).toEqual({ ok: false, detail: 'value "-0.5" is negative' });
    expect(parseNonNegativeDecimal('-1e-5')).toEqual({ ok: false, detail: 'value "-1e-5" is negative' });
  });

  it('turns negative zero strings into 0', () => {
    expect(parseNonNegativeDecimal('-0')).toEqual(ok('0'));
    expect(parseNonNegativeDecimal('-0.000')).toEqual(ok('0'));
    expect(parseNonNegativeDecimal('-0e5')).toEqual(ok('0'));
    expect(parseNonNegativeDecimal('-.0')).toEqual(ok('0'));
  });

  it('rejects NaN / Infinity / inf in any case and sign', () => {
    for (const s of ['NaN', 'nan', 'Infinity', '-Infinity', '+Infinity', 'inf', 'INF', '-inf', '+inf']) {
      expect(parseNonNegativeDecimal(s)).toEqual({ ok: false, detail: `value "${s}" is not finite` });
    }
  });

  it('rejects empty and blank strings', () => {
    expect(parseNonNegativeDecimal('')).toEqual({ ok: false, detail: 'value is empty' });
    expect(parseNonNegativeDecimal('   ')).toEqual({ ok: false, detail: 'value is empty' });
  });

  it('rejects garbage', () => {
    for (const s of [
      'abc',
      '1,5',
      '0x1F',
      '12abc',
      '1 000',
      '1e',
      'e5',
      '.',
      '+',
      '-',
      '--1',
      '1.2.3',
      '$5',
      '-abc',
    ]) {
      expect(parseNonNegativeDecimal(s)).toEqual({ ok: false, detail: `value "${s}" is not a number` });
    }
  });
});

describe('parseNonNegativeDecimal: other types', () => {
  it('rejects non-number, non-string values', () => {
    expect(parseNonNegativeDecimal(null)).toEqual({ ok: false, detail: 'value null is not a number' });
    expect(parseNonNegativeDecimal(undefined)).toEqual({
      ok: false,
      detail: 'value missing is not a number',
    });
    expect(parseNonNegativeDecimal(true)).toEqual({ ok: false, detail: 'value true is not a number' });
    expect(parseNonNegativeDecimal({})).toMatchObject({ ok: false });
    expect(parseNonNegativeDecimal([1])).toMatchObject({ ok: false });
  });
});

describe('canonicalDecimal', () => {
  it('strips leading zeros of the integer part and trailing zeros of the fraction', () => {
    expect(canonicalDecimal('031.50')).toBe('31.5');
    expect(canonicalDecimal('2.000')).toBe('2');
    expect(canonicalDecimal('0.050')).toBe('0.05');
    expect(canonicalDecimal('00.010')).toBe('0.01');
  });

  it('keeps zeros that matter', () => {
    expect(canonicalDecimal('10')).toBe('10');
    expect(canonicalDecimal('100.00')).toBe('100');
    expect(canonicalDecimal('1.05')).toBe('1.05');
  });

  it('canonicalizes zero', () => {
    expect(canonicalDecimal('0')).toBe('0');
    expect(canonicalDecimal('000')).toBe('0');
    expect(canonicalDecimal('0.0')).toBe('0');
  });

  it('adds the integer 0 before a bare fraction, drops a bare point', () => {
    expect(canonicalDecimal('.5')).toBe('0.5');
    expect(canonicalDecimal('1.')).toBe('1');
  });

  it('drops a leading + and surrounding whitespace', () => {
    expect(canonicalDecimal('+1.50')).toBe('1.5');
    expect(canonicalDecimal(' 7.10 ')).toBe('7.1');
  });

  it('makes values written differently compare equal', () => {
    expect(canonicalDecimal('31.00')).toBe(canonicalDecimal('031'));
    expect(canonicalDecimal('31.00')).not.toBe(canonicalDecimal('31.01'));
  });
});

describe('parseNonNegativeDecimal: the billing scale', () => {
  it('refuses more than 12 decimal places, in any notation (the close could not bill them)', () => {
    expect(parseNonNegativeDecimal('1e-24')).toEqual({
      ok: false,
      detail: 'value "1e-24" has 24 decimal places; at most 12',
    });
    expect(parseNonNegativeDecimal(5e-324)).toMatchObject({ ok: false, detail: /324 decimal places/ });
    expect(parseNonNegativeDecimal('0.0000000000001')).toMatchObject({
      ok: false,
      detail: /13 decimal places/,
    });
    expect(parseNonNegativeDecimal(0.30000000000000004)).toMatchObject({ ok: false });
  });

  it('refuses more than 18 digits before the point, with a short message for a huge value', () => {
    const huge = parseNonNegativeDecimal('9'.repeat(140_000));
    expect(huge).toMatchObject({ ok: false, detail: /140000 digits before the decimal point; at most 18/ });
    expect((huge as { detail: string }).detail.length).toBeLessThan(200);
    expect(parseNonNegativeDecimal('1e19')).toMatchObject({ ok: false, detail: /20 digits/ });
    expect(parseNonNegativeDecimal(1e21)).toMatchObject({ ok: false });
    expect(parseNonNegativeDecimal('1e999999')).toMatchObject({ ok: false });
  });

  it('zeros around the digits do not count; long text is stored canonical', () => {
    expect(parseNonNegativeDecimal(`${'0'.repeat(30)}1.5${'0'.repeat(30)}`)).toEqual(ok('1.5'));
    expect(parseNonNegativeDecimal(`0.${'0'.repeat(11)}1${'0'.repeat(100)}`)).toEqual(ok('0.000000000001'));
    expect(parseNonNegativeDecimal('0.000')).toEqual(ok('0.000'));
  });
});
