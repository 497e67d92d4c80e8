import {
  cleanText,
  createValidator,
  QUARANTINE_REASONS,
  validateRecord,
  type Catalog,
  type RawRecord,
} from '../../domain/records';

/** Two accounts: acme (client-a, client-b) and globex (globex-1), each with its own products. */
const orgs: Record<string, { id: number; accountId: string }> = {
  'client-a': { id: 11, accountId: 'acme' },
  'client-b': { id: 12, accountId: 'acme' },
  'globex-1': { id: 21, accountId: 'globex' },
};
const products: Record<string, Record<string, number>> = {
  acme: { infra_hosts: 101, apm_ingested_bytes: 102 },
  globex: { apm_hosts: 201 },
};
const catalog: Catalog = {
  org: (publicId) => orgs[publicId],
  product: (accountId, code) => products[accountId]?.[code],
};

// as of 2026-03-10 12:30:00 UTC, 30 days of retention → earliest accepted hour is 2026-02-08 12:00 UTC
const window = { asOfMs: Date.UTC(2026, 2, 10, 12, 30), retentionDays: 30 };

const good: RawRecord = {
  timestamp: '2026-03-05T14:20:00Z',
  org: 'client-a',
  product: 'infra_hosts',
  value: '3.5',
  tags: ['Team:Web', 'env:prod'],
};
const rec = (over: Partial<RawRecord>): RawRecord => ({ ...good, ...over });

describe('validateRecord: accepted records', () => {
  it('returns the internal ids, the truncated hour, normalized tags and the exact value', () => {
    expect(validateRecord(good, catalog, window)).toEqual({
      ok: true,
      accountId: 'acme',
      orgId: 11,
      productId: 101,
      hourMs: Date.UTC(2026, 2, 5, 14),
      tags: ['env:prod', 'team:web'],
      value: '3.5',
    });
  });

  it('accepts a JSON number value', () => {
    expect(validateRecord(rec({ value: 42 }), catalog, window)).toMatchObject({ ok: true, value: '42' });
  });

  it('trims org and product', () => {
    expect(
      validateRecord(rec({ org: ' client-b ', product: ' apm_ingested_bytes ' }), catalog, window),
    ).toMatchObject({ ok: true, orgId: 12, productId: 102 });
  });

  it('takes tags as an array', () => {
    expect(validateRecord(rec({ tags: ['service:API', 'team'] }), catalog, window)).toMatchObject({
      ok: true,
      tags: ['service:api', 'team:'],
    });
  });

  it('takes tags as a comma-separated string (CSV/TSV)', () => {
    expect(validateRecord(rec({ tags: 'Team:Web,env:prod,team:web' }), catalog, window)).toMatchObject({
      ok: true,
      tags: ['env:prod', 'team:web'],
    });
  });

  it('treats null, undefined, an empty string or an empty array as untagged', () => {
    for (const tags of [null, undefined, '', []]) {
      expect(validateRecord(rec({ tags }), catalog, window)).toMatchObject({ ok: true, tags: [] });
    }
  });

  it('accepts the oldest hour inside retention and the hour containing as-of', () => {
    expect(validateRecord(rec({ timestamp: '2026-02-08T12:00:00Z' }), catalog, window)).toMatchObject({
      ok: true,
      hourMs: Date.UTC(2026, 1, 8, 12),
    });
    expect(validateRecord(rec({ timestamp: '2026-03-10T12:59:59Z' }), catalog, window)).toMatchObject({
      ok: true,
      hourMs: Date.UTC(2026, 2, 10, 12),
    });
  });
});

describe('validateRecord: quarantine reasons', () => {
  it('has the stable list of reason codes', () => {
    expect([...QUARANTINE_REASONS].sort()).toEqual([
      'bad_timestamp',
      'bad_value',
      'hour_outside_retention',
      'malformed_record',
      'malformed_tag',
      'unknown_org',
      'unknown_product',
    ]);
  });

  it('bad_timestamp: unparseable, impossible or missing timestamps', () => {
    expect(validateRecord(rec({ timestamp: 'yesterday' }), catalog, window)).toEqual({
      ok: false,
      reason: 'bad_timestamp',
      detail: 'timestamp "yesterday" is not ISO 8601',
    });
    expect(validateRecord(rec({ timestamp: '2026-02-30T00:00:00Z' }), catalog, window)).toMatchObject({
      ok: false,
      reason: 'bad_timestamp',
    });
    expect(validateRecord(rec({ timestamp: undefined }), catalog, window)).toMatchObject({
      ok: false,
      reason: 'bad_timestamp',
    });
    expect(validateRecord(rec({ timestamp: 1772359200000 }), catalog, window)).toMatchObject({
      ok: false,
      reason: 'bad_timestamp',
    });
  });

  it('hour_outside_retention: older than the retention window', () => {
    expect(validateRecord(rec({ timestamp: '2026-02-08T11:59:59Z' }), catalog, window)).toEqual({
      ok: false,
      reason: 'hour_outside_retention',
      detail: 'hour 2026-02-08T11:00:00.000Z is older than 30 days',
    });
    expect(validateRecord(rec({ timestamp: '2025-01-01T00:00:00Z' }), catalog, window)).toMatchObject({
      ok: false,
      reason: 'hour_outside_retention',
    });
  });

  it('hour_outside_retention: in the future', () => {
    expect(validateRecord(rec({ timestamp: '2026-03-10T13:00:00Z' }), catalog, window)).toEqual({
      ok: false,
      reason: 'hour_outside_retention',
      detail: 'hour 2026-03-10T13:00:00.000Z is in the future',
    });
    expect(validateRecord(rec({ timestamp: '2027-01-01T00:00:00Z' }), catalog, window)).toMatchObject({
      ok: false,
      reason: 'hour_outside_retention',
    });
  });

  it('hour_outside_retention uses the offset-corrected hour', () => {
    // 2026-03-10T14:10 at +02:00 is 12:10 UTC: inside the hour containing as-of → accepted
    expect(validateRecord(rec({ timestamp: '2026-03-10T14:10:00+02:00' }), catalog, window)).toMatchObject({
      ok: true,
      hourMs: Date.UTC(2026, 2, 10, 12),
    });
    // 2026-03-10T12:10 at -01:00 is 13:10 UTC: future
    expect(validateRecord(rec({ timestamp: '2026-03-10T12:10:00-01:00' }), catalog, window)).toMatchObject({
      ok: false,
      reason: 'hour_outside_retention',
    });
  });

  it('unknown_org: not in the catalog, blank or not a string', () => {
    expect(validateRecord(rec({ org: 'nobody' }), catalog, window)).toEqual({
      ok: false,
      reason: 'unknown_org',
      detail: 'org "nobody" is not in any account',
    });
    for (const org of ['', '  ', undefined, null, 11]) {
      expect(validateRecord(rec({ org }), catalog, window)).toMatchObject({
        ok: false,
        reason: 'unknown_org',
      });
    }
  });

  it('unknown_product: not in the catalog, from another account, blank or missing', () => {
    expect(validateRecord(rec({ product: 'nope' }), catalog, window)).toEqual({
      ok: false,
      reason: 'unknown_product',
      detail: 'product "nope" is not in account "acme"',
    });
    // apm_hosts exists, but only in globex
    expect(validateRecord(rec({ product: 'apm_hosts' }), catalog, window)).toMatchObject({
      ok: false,
      reason: 'unknown_product',
    });
    expect(validateRecord(rec({ org: 'globex-1', product: 'apm_hosts' }), catalog, window)).toMatchObject({
      ok: true,
      orgId: 21,
      productId: 201,
    });
    for (const product of ['', undefined, 5]) {
      expect(validateRecord(rec({ product }), catalog, window)).toMatchObject({
        ok: false,
        reason: 'unknown_product',
      });
    }
  });

  it('bad_value: negative, not finite, not a number, missing', () => {
    expect(validateRecord(rec({ value: -1 }), catalog, window)).toEqual({
      ok: false,
      reason: 'bad_value',
      detail: 'value -1 is negative',
    });
    for (const value of ['-2.5', 'NaN', 'inf', 'abc', '', null, undefined, NaN, Infinity]) {
      expect(validateRecord(rec({ value }), catalog, window)).toMatchObject({
        ok: false,
        reason: 'bad_value',
      });
    }
  });

  it('malformed_tag: invalid tag, non-string element, tags of the wrong type', () => {
    expect(validateRecord(rec({ tags: ['team:web', ':x'] }), catalog, window)).toEqual({
      ok: false,
      reason: 'malformed_tag',
      detail: 'tag ":x" has no key',
    });
    expect(validateRecord(rec({ tags: ['1team:x'] }), catalog, window)).toMatchObject({
      ok: false,
      reason: 'malformed_tag',
    });
    expect(validateRecord(rec({ tags: ['team:web', 7] }), catalog, window)).toEqual({
      ok: false,
      reason: 'malformed_tag',
      detail: 'tag 7 is not a string',
    });
    expect(validateRecord(rec({ tags: 'team:web,:x' }), catalog, window)).toMatchObject({
      ok: false,
      reason: 'malformed_tag',
    });
    for (const tags of [{ team: 'web' }, 42, true]) {
      expect(validateRecord(rec({ tags }), catalog, window)).toEqual({
        ok: false,
        reason: 'malformed_tag',
        detail: 'tags must be an array of "key:value" strings',
      });
    }
  });

  it('reports the first failing rule: timestamp, then org, product, value, tags', () => {
    const allBad: RawRecord = { timestamp: 'x', org: 'nobody', product: 'nope', value: -1, tags: 5 };
    expect(validateRecord(allBad, catalog, window)).toMatchObject({ reason: 'bad_timestamp' });
    expect(validateRecord({ ...allBad, timestamp: good.timestamp }, catalog, window)).toMatchObject({
      reason: 'unknown_org',
    });
    expect(
      validateRecord({ ...allBad, timestamp: good.timestamp, org: 'client-a' }, catalog, window),
    ).toMatchObject({ reason: 'unknown_product' });
    expect(
      validateRecord(
        { ...allBad, timestamp: good.timestamp, org: 'client-a', product: 'infra_hosts' },
        catalog,
        window,
      ),
    ).toMatchObject({ reason: 'bad_value' });
    expect(
      validateRecord(
        { ...allBad, timestamp: good.timestamp, org: 'client-a', product: 'infra_hosts', value: 1 },
        catalog,
        window,
      ),
    ).toMatchObject({ reason: 'malformed_tag' });
  });
});

describe('createValidator: memoized parsing', () => {
  it('a tag containing the old cache separator never takes another set’s result', () => {
    const validate = createValidator(catalog, window);
    const glued = validate(rec({ tags: ['env:prod\u0001team:x'] }));
    const pair = validate(rec({ tags: ['env:prod', 'team:x'] }));
    expect(glued).toMatchObject({ ok: true, tags: ['env:prod_team:x'] });
    expect(pair).toMatchObject({ ok: true, tags: ['env:prod', 'team:x'] });
    // and the other way round, with a fresh cache
    const again = createValidator(catalog, window);
    expect(again(rec({ tags: ['env:prod', 'team:x'] }))).toMatchObject({ tags: ['env:prod', 'team:x'] });
    expect(again(rec({ tags: ['env:prod\u0001team:x'] }))).toMatchObject({ tags: ['env:prod_team:x'] });
  });
});

describe('cleanText: what quarantine keeps', () => {
  it('replaces NUL, which Postgres text cannot hold, and caps the length', () => {
    expect(cleanText('a\u0000b', 10)).toBe('a\uFFFDb');
    expect(cleanText('x'.repeat(12), 10)).toBe('xxxxxxxxxx… [12 characters in all]');
  });
});
