import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildServer } from '../../api/server';
import { applyAccountSpec } from '../../db/accounts';
import { createKey, revokeKey } from '../../db/keys';
import { findVersion, writeMonthEndFiles, type VersionRow } from '../../db/month-end-report';
import { apiFixture, type ApiFixture } from '../support/api';
import { inCurrency, unpricedIn } from '../support/currency';
import { parseSpec, tempDir, TEST_AS_OF } from '../support/fixtures';

/** Keys, errors and cursors as a caller meets them over HTTP. */
let f: ApiFixture;
const BILLABLE = '/api/v1/usage/billable-summary?month=2026-10';

beforeAll(async () => {
  f = await apiFixture({ pageSize: 5 });
}, 120_000);
afterAll(async () => f?.close());

const get = (path: string, headers: Record<string, string> = {}) => fetch(f.url + path, { headers });
const newKey = (email: string, extra: { scopes?: string[]; expiresAt?: string } = {}) =>
  f.db.transaction((trx) => createKey(trx, { accountId: 'acme', email, name: 'k', actor: 'test', ...extra }));
const pair = (k: { api_key: string; application_key: string }) => ({
  'DD-API-KEY': k.api_key,
  'DD-APPLICATION-KEY': k.application_key,
});

describe('keys', () => {
  it('works, and a revoked key is refused on the very next request', async () => {
    const k = await newKey('admin@acme.example');
    expect((await get(BILLABLE, pair(k))).status).toBe(200);
    await f.db.transaction((trx) => revokeKey(trx, { accountId: 'acme', id: k.id, actor: 'test' }));
    const res = await get(BILLABLE, pair(k));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      errors: [expect.stringMatching(/not valid \(unknown, revoked or expired\)/)],
    });
  });

  it('an expired key is refused', async () => {
    const k = await newKey('admin@acme.example', { expiresAt: '2026-01-01T00:00:00Z' });
    expect((await get(BILLABLE, pair(k))).status).toBe(403);
  });

  it('a scoped key holds only its scopes: usage yes, cost no', async () => {
    const k = await newKey('admin@acme.example', { scopes: ['usage_read'] });
    expect((await get(BILLABLE, pair(k))).status).toBe(200);
    const res = await get('/api/v2/usage/projected_cost', pair(k));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ errors: ['this needs the permission billing_read'] });
  });

  it('an application key of another pair is refused; /validate needs the API key only', async () => {
    const a = f.keys['acme/admin'];
    const b = f.keys['acme/finance'];
    if (!a || !b) throw new Error('fixture keys');
    expect(
      (await get(BILLABLE, { 'DD-API-KEY': a.api_key, 'DD-APPLICATION-KEY': b.application_key })).status,
    ).toBe(403);
    expect((await get('/api/v1/validate', { 'DD-API-KEY': a.api_key })).status).toBe(200);
    expect((await get(BILLABLE, { 'DD-API-KEY': a.api_key })).status).toBe(403);
    const none = await get(BILLABLE);
    expect(none.status).toBe(403);
    expect(await none.json()).toEqual({ errors: ['Forbidden: send your API key in the DD-API-KEY header'] });
  });

  it('a key of another account sees that account only', async () => {
    await applyAccountSpec(
      f.db,
      parseSpec({
        account: { id: 'globex', name: 'Globex', timezone: 'UTC', lateness: '72h' },
        orgs: [{ id: 'globex', name: 'Globex' }],
        products: [{ code: 'infra_hosts', unit: 'host', aggregation: 'p99' }],
        access: { users: [{ email: 'admin@globex.example', org: 'globex', roles: ['admin'] }] },
      }),
      { asOfMs: TEST_AS_OF },
    );
    const k = await f.db.transaction((trx) =>
      createKey(trx, { accountId: 'globex', email: 'admin@globex.example', name: 'k', actor: 'test' }),
    );
    const orgs = (await (await get('/api/orgtally/v1/orgs', pair(k))).json()) as {
      data: { public_id: string }[];
    };
    expect(orgs.data.map((o) => o.public_id)).toEqual(['globex']);
    expect((await get('/api/orgtally/v1/orgs/client-a', pair(k))).status).toBe(404);
    const bill = await get(BILLABLE, pair(k));
    expect(bill.status).toBe(404);
    expect(JSON.stringify(await bill.json())).not.toMatch(/acme|client/i);
  });

  it('records the last use at most once a minute', async () => {
    const k = await newKey('admin@acme.example');
    await get(BILLABLE, pair(k));
    await new Promise((r) => setTimeout(r, 50)); // the update runs beside the response
    const first = (await f.db('api_keys').where({ id: k.id }).first('last_used_at')).last_used_at as Date;
    expect(first).toBeInstanceOf(Date);
    await get(BILLABLE, pair(k));
    await new Promise((r) => setTimeout(r, 50));
    const second = (await f.db('api_keys').where({ id: k.id }).first('last_used_at')).last_used_at as Date;
    expect(second.getTime()).toBe(first.getTime());
  });

  it('stores digests only: no key text is in the database', async () => {
    const k = await newKey('admin@acme.example');
    const dump =
      JSON.stringify(await f.db('api_keys').select('*')) +
      JSON.stringify(await f.db('audit_log').select('*'));
    expect(dump).not.toContain(k.api_key.slice(4));
    expect(dump).not.toContain(k.application_key.slice(4));
  });
});

describe('errors', () => {
  const admin = () => f.headers('acme/admin');

  it('a bad parameter is a 400 that names it', async () => {
    const cases: [string, RegExp][] = [
      ['/api/v1/usage/summary?start_month=last-month', /^start_month: "last-month" is not an ISO 8601 date/],
      ['/api/v1/usage/summary', /^start_month: is required$/],
      ['/api/v1/usage/summary?start_month=2026-10&colour=red', /^unknown parameter "colour"$/],
      ['/api/v1/usage/summary?start_month=2026-10&start_month=2026-11', /^start_month: give it once/],
      ['/api/v1/usage/summary?start_month=2026-10&end_month=2026-09', /^end_month: 2026-09 is before/],
      [
        '/api/v1/usage/monthly-attribution?start_month=2026-10&fields=bogus_usage',
        /^fields: "bogus_usage" is not a field/,
      ],
      [
        '/api/v2/usage/hourly_usage?filter[timestamp][start]=2026-10-03&filter[product_families]=all&page[limit]=900',
        /^page\[limit\]: must be between 1 and 500$/,
      ],
      [
        '/api/v2/usage/historical_cost?start_month=2026-10&view=everything',
        /^view: must be summary or sub-org$/,
      ],
    ];
    for (const [path, message] of cases) {
      const res = await get(path, admin());
      expect([path, res.status]).toEqual([path, 400]);
      const body = (await res.json()) as { errors: string[] };
      expect(body.errors[0]).toMatch(message);
    }
  });

  it('every response carries a request id; an unknown endpoint is a 404 in the same shape', async () => {
    const res = await get('/api/v1/usage/nothing-here', admin());
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({ errors: ['no endpoint GET /api/v1/usage/nothing-here'] });
  });

  it('a failure inside is a 500 that names the request id, which the log has with the cause', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const broken = f.db.client.config.connection as object;
    const knexFactory = (await import('knex')).default;
    const db = knexFactory({ client: 'pg', connection: broken, pool: { min: 0, max: 1 } });
    const app = await buildServer({
      db,
      rateLimit: { limit: 100, periodSeconds: 60 },
      logger: { level: 'info', stream },
    });
    await db.destroy(); // every query from now on fails inside the server
    const res = await app.inject({ method: 'GET', url: BILLABLE, headers: admin() });
    expect(res.statusCode).toBe(500);
    const id = res.headers['x-request-id'] as string;
    expect(res.json()).toEqual({
      errors: [`internal error: the server log has the details under request id ${id}`],
    });
    expect(res.body).not.toMatch(/knex|pool|pg|at .*\.ts/i);
    expect(lines.some((l) => l.includes(id) && /request failed/.test(l))).toBe(true);
    await app.close();
  });
});

describe('rate limit', () => {
  it('answers 429 with Datadog’s headers and no Retry-After', async () => {
    const app = await buildServer({ db: f.db, rateLimit: { limit: 2, periodSeconds: 60 } });
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 3; i++) {
      last = await app.inject({ method: 'GET', url: '/api/v1/validate', headers: f.headers('acme/admin') });
      statuses.push(last.statusCode);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(last?.headers).toMatchObject({
      'x-ratelimit-limit': '2',
      'x-ratelimit-period': '60',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-name': 'usage_metering',
    });
    expect(Number(last?.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    expect(last?.headers['retry-after']).toBeUndefined();
    await app.close();
  });
});

describe('cursors', () => {
  const PATH = '/api/v1/usage/monthly-attribution?start_month=2026-10&end_month=2026-10&fields=*';
  const firstCursor = async () => {
    const body = (await (await get(PATH, f.headers('acme/admin'))).json()) as {
      metadata: { pagination: { next_record_id: string | null } };
    };
    const c = body.metadata.pagination.next_record_id;
    if (!c) throw new Error('expected a second page');
    return c;
  };

  it('continues the listing it was issued for', async () => {
    const c = await firstCursor();
    expect(
      (await get(`${PATH}&next_record_id=${encodeURIComponent(c)}`, f.headers('acme/admin'))).status,
    ).toBe(200);
  });

  it('is a 400 when edited, widened, or presented by another caller', async () => {
    const c = await firstCursor();
    const [body, mac] = c.split('.') as [string, string];
    const edited = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), p: 0 }),
    ).toString('base64url');
    const cases: [string, Record<string, string>][] = [
      [`${PATH}&next_record_id=${edited}.${mac}`, f.headers('acme/admin')],
      [`${PATH}&next_record_id=garbage`, f.headers('acme/admin')],
      [
        `${PATH.replace('end_month=2026-10', 'end_month=2026-11')}&next_record_id=${c}`,
        f.headers('acme/admin'),
      ],
      [`${PATH}&include_descendants=true&next_record_id=${c}`, f.headers('acme/admin')],
      [`${PATH}&next_record_id=${c}`, f.headers('acme/finance')],
    ];
    for (const [path, headers] of cases) {
      const res = await get(path, headers);
      expect([path, res.status]).toEqual([path, 400]);
      expect(((await res.json()) as { errors: string[] }).errors[0]).toMatch(
        /^next_record_id: .*start again without next_record_id$/,
      );
    }
  });
});

describe('month-end files', () => {
  it('streams each file of a version byte for byte as the close writes it', async () => {
    const v = (await findVersion(f.db, 'acme', '2026-10')) as VersionRow;
    const dir = tempDir('api-files');
    const written = await writeMonthEndFiles(f.db, v, dir);
    const list = (await (
      await get('/api/orgtally/v1/month-end/2026-10/files', f.headers('acme/admin'))
    ).json()) as {
      files: { name: string; url: string }[];
    };
    expect(list.files.map((x) => x.name).sort()).toEqual(written.map((w) => w.name).sort());
    for (const file of list.files) {
      const res = await get(file.url, f.headers('acme/admin'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${file.name}"`);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(fs.readFileSync(path.join(dir, file.name)));
    }
    const missing = await get('/api/orgtally/v1/month-end/2026-10/files/passwd', f.headers('acme/admin'));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { errors: string[] }).errors[0]).toMatch(
      /has no file "passwd" \(files: month_end_acme/,
    );
  });
});

describe('the month-end report', () => {
  it('says the account’s currency and, per product row, whether the product is priced; amounts as stored', async () => {
    const { rows } = await f.db.raw(
      `SELECT usage_type, total_cost::text FROM month_end_totals
        WHERE account_id = 'acme' AND month = '2026-10-01' ORDER BY usage_type COLLATE "C"`,
    );
    const unpriced = await unpricedIn(f.db, 'acme', '2026-10');
    expect(unpriced.length).toBeGreaterThan(0);
    type Row = { usage_type: string; total_cost: string; priced: boolean };
    const body = await inCurrency(f.db, 'EUR', async () => {
      const res = await get('/api/orgtally/v1/month-end/2026-10/report', f.headers('acme/admin'));
      expect(res.status).toBe(200);
      return (await res.json()) as { currency: string; totals: Row[]; by_org: Row[]; by_tag: Row[] };
    });
    expect(body.currency).toBe('EUR');
    expect(body.totals.map((t) => [t.usage_type, t.total_cost, t.priced])).toEqual(
      rows.map((r: Row) => [r.usage_type, r.total_cost, !unpriced.includes(r.usage_type)]),
    );
    for (const part of [body.by_org, body.by_tag]) {
      expect(part.length).toBeGreaterThan(0);
      for (const r of part)
        expect([r.usage_type, r.priced]).toEqual([r.usage_type, !unpriced.includes(r.usage_type)]);
    }
    const usd = await get('/api/orgtally/v1/month-end/2026-10/report?parts=by_org', f.headers('acme/admin'));
    expect(((await usd.json()) as { currency: string }).currency).toBe('USD');
  });
});

describe('changes through the API', () => {
  it('a tag-key change is applied as account apply does and audited with its caller', async () => {
    const headers = { ...f.headers('acme/admin'), 'content-type': 'application/json' };
    const res = await fetch(`${f.url}/api/orgtally/v1/attribution/tag-keys`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ tag_keys: ['team', 'env'], effective_from: '2026-12-01' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      changes: string[];
      data: { effective_from: string; tag_keys: string[] }[];
    };
    expect(body.changes).toEqual(['attribution tag keys: [team, env] from 2026-12-01']);
    expect(body.data.at(-1)).toEqual({ effective_from: '2026-12-01', tag_keys: ['team', 'env'] });
    const audit = (await (
      await get('/api/orgtally/v1/audit?page[size]=1', f.headers('acme/admin'))
    ).json()) as {
      data: { actor: string; action: string; after: unknown }[];
    };
    expect(audit.data[0]).toMatchObject({
      actor: `key:${f.keys['acme/admin']?.id} (admin@acme.example)`,
      action: 'spec.apply',
      after: { changes: ['attribution tag keys: [team, env] from 2026-12-01'] },
    });
  });

  it('an invalid change is a 400 with the spec’s own message, and nothing is written', async () => {
    const before = await f.db('audit_log').count({ n: '*' });
    const res = await fetch(`${f.url}/api/orgtally/v1/attribution/tag-keys`, {
      method: 'PUT',
      headers: { ...f.headers('acme/admin'), 'content-type': 'application/json' },
      body: JSON.stringify({ tag_keys: ['team', 'team'] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: string[] }).errors[0]).toMatch(/duplicate tag key "team"/);
    expect(await f.db('audit_log').count({ n: '*' })).toEqual(before);
  });
});
