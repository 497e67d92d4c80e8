import fc from 'fast-check';
import { z } from 'zod';
import { ROUTES } from '../../api/routes';
import { apiFixture, type ApiFixture } from '../support/api';

/**
 * Fuzzed query parameters on every GET endpoint, as the root org's admin (the caller who gets furthest): whatever
 * arrives, the answer is never a 500, and every refusal is Datadog's error shape.
 */
let f: ApiFixture;
beforeAll(async () => {
  f = await apiFixture();
}, 120_000);
afterAll(async () => f?.close());

/** Statuses seen, to show the fuzz reaches past the schema (200s and 404s from handlers, not only 400s). */
const reached: Record<number, number> = {};
afterAll(() => {
  expect(reached[200]).toBeGreaterThan(20);
  expect(reached[400]).toBeGreaterThan(20);
});

const value = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '2026-10',
    '2026-10-01T00:00:00.000Z',
    '2026-10-01T00:00:00+00:00',
    '2026-13',
    '0000-00',
    '*',
    'all',
  ),
  fc.constantFrom(
    'true',
    'false',
    'desc',
    'asc',
    'sub-org',
    'summary',
    '-1',
    '0',
    '1e309',
    'NaN',
    '99999999999999999999',
  ),
  fc.constantFrom(
    'infra_host_usage',
    'infra_hosts',
    'team,env',
    'team',
    "'; DROP TABLE orgs; --",
    '%00',
    '\u0000',
  ),
  fc
    .date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.integer().map(String),
);

describe.each(ROUTES.filter((r) => r.method === 'GET').map((r) => [r.url, r] as const))('%s', (_url, r) => {
  const names = r.query instanceof z.ZodObject ? Object.keys(r.query.shape) : [];
  const params = fc.dictionary(fc.oneof(fc.constantFrom(...names, 'x'), fc.string({ maxLength: 8 })), value, {
    maxKeys: 6,
  });
  const path = r.url.replace(/:([a-z_]+)/g, (_m, p: string) =>
    p === 'month' ? '2026-10' : p === 'org' ? 'client-a' : 'x',
  );
  const pathParam = fc.oneof(
    fc.constant(path),
    fc.string().map((s) => r.url.replace(/:([a-z_]+)/g, encodeURIComponent(s) || '_')),
  );

  it('never answers 500', async () => {
    await fc.assert(
      fc.asyncProperty(pathParam, params, async (p, q) => {
        const qs = new URLSearchParams(q).toString();
        const res = await fetch(`${f.url}${p}${qs ? `?${qs}` : ''}`, { headers: f.headers('acme/admin') });
        const text = await res.text();
        reached[res.status] = (reached[res.status] ?? 0) + 1;
        if (res.status >= 500) throw new Error(`${res.status} for ${p}?${qs}: ${text}`);
        if (res.status >= 400)
          expect(JSON.parse(text)).toEqual({ errors: expect.arrayContaining([expect.any(String)]) });
      }),
      { numRuns: 40, seed: 20261201 },
    );
  });
});
