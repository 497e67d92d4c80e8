import type { Knex } from 'knex';
import { applyAccountSpec } from '../../db/accounts';
import { ingestStream } from '../../activities/ingest-file';
import { Readable } from 'node:stream';
import { cloneTestDatabase } from '../support/db';
import { count, exampleSpecJson, parseSpec, rec, TEST_AS_OF } from '../support/fixtures';

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => ({ db, drop } = await cloneTestDatabase()));
afterAll(async () => drop());

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function snapshot(): Promise<unknown> {
  const tables = [
    'accounts',
    'orgs',
    'products',
    'commitments',
    'attribution_tag_keys',
    'finance_recipients',
    'alert_rules',
  ];
  const out: Record<string, unknown> = {};
  for (const t of tables) out[t] = await db(t).select('*').orderByRaw('1, 2');
  return out;
}

describe('orgtally account apply', () => {
  it('creates everything once; a second apply changes no row', async () => {
    const first = await applyAccountSpec(db, parseSpec(exampleSpecJson()), { asOfMs: TEST_AS_OF });
    expect(first.changes).toContain('account acme: created');
    expect(first.changes.filter((c) => c.startsWith('org '))).toHaveLength(6);
    expect(first.changes.filter((c) => c.startsWith('product '))).toHaveLength(10);
    expect(first.changes).toContain('attribution tag keys: [team, env, service] from 1970-01-01');
    const before = await snapshot();
    const second = await applyAccountSpec(db, parseSpec(exampleSpecJson()), { asOfMs: TEST_AS_OF });
    expect(second.changes).toEqual([]);
    expect(await snapshot()).toEqual(before);

    const orgs = await db('orgs as o')
      .leftJoin('orgs as p', 'p.id', 'o.parent_id')
      .select('o.public_id', 'p.public_id as parent', 'o.billable')
      .orderBy('o.public_id');
    expect(orgs).toEqual([
      { public_id: 'acme', parent: null, billable: true },
      { public_id: 'client-a', parent: 'acme', billable: true },
      { public_id: 'client-a-eu', parent: 'client-a', billable: true },
      { public_id: 'client-b', parent: 'acme', billable: true },
      { public_id: 'client-c', parent: 'acme', billable: true },
      { public_id: 'trial-x', parent: 'acme', billable: false },
    ]);
    const c = await db('commitments').where({ product_code: 'apm_hosts' }).first();
    expect([c.quantity, c.committed_price, c.on_demand_price]).toEqual(['10', '31.00', '36.00']);
  });

  it('an edited spec changes exactly the edits', async () => {
    const spec: Json = exampleSpecJson();
    spec.orgs.find((o: Json) => o.id === 'client-c').name = 'Client C Ltd';
    spec.orgs.push({ id: 'client-d', name: 'Client D', parent: 'client-b' });
    spec.products.push({ code: 'rum_sessions', unit: '1k sessions', aggregation: 'sum' });
    spec.commitments.find((c: Json) => c.product === 'apm_hosts').on_demand_price = '35.50';
    spec.commitments.find((c: Json) => c.product === 'infra_hosts').quantity = '40.000'; // same number, other text
    spec.finance.recipients = ['finance@acme.example'];
    spec.attribution = { tag_keys: ['team', 'env'], effective_from: '2026-12-01' };
    spec.alerts = spec.alerts.filter((a: Json) => a.id !== 'data-stall');
    const result = await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
    expect(result.changes.sort()).toEqual(
      [
        'org client-c: updated',
        'org client-d: created',
        'product rum_sessions: created',
        'commitment apm_hosts: updated',
        'finance recipient cfo@acme.example: removed',
        'attribution tag keys: [team, env] from 2026-12-01',
        'alert rule data-stall: removed',
      ].sort(),
    );
    const keys = await db('attribution_tag_keys').orderBy('effective_from').select('tag_keys');
    expect(keys.map((k) => k.tag_keys)).toEqual([
      ['team', 'env', 'service'],
      ['team', 'env'],
    ]);
    expect((await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF })).changes).toEqual([]);
  });

  it('refuses to drop an org that has usage, and then writes nothing at all', async () => {
    await ingestStream(db, {
      source: 'usage.ndjson',
      stream: Readable.from([`${rec('2026-11-01T10:00:00Z', 'client-d', 'infra_hosts', 2)}\n`]),
      format: 'ndjson',
      asOfMs: TEST_AS_OF,
      retentionDays: 400,
    });
    const spec: Json = exampleSpecJson();
    spec.products.push({ code: 'rum_sessions', unit: '1k sessions', aggregation: 'sum' });
    spec.account.name = 'Acme Renamed'; // an edit that must not land either
    const before = await snapshot();
    await expect(applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF })).rejects.toThrow(
      /orgs client-d have usage and cannot be removed/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it('an org id already used by another account is an error', async () => {
    const other: Json = {
      account: { id: 'globex', name: 'Globex' },
      orgs: [
        { id: 'globex', name: 'Globex' },
        { id: 'client-a', name: 'Stolen A', parent: 'globex' },
      ],
      products: [],
    };
    const before = await count(db, 'accounts');
    await expect(applyAccountSpec(db, parseSpec(other), { asOfMs: TEST_AS_OF })).rejects.toThrow(
      /org "client-a" already belongs to account "acme"/,
    );
    expect(await count(db, 'accounts')).toBe(before);
  });
});

describe('account apply: time zones in the terms Postgres uses them', () => {
  const withZone = (tz: string) => {
    const spec = exampleSpecJson() as Json;
    spec.account = { ...spec.account, id: 'tz', timezone: tz };
    spec.orgs = [{ id: 'tz', name: 'TZ' }];
    spec.alerts = [];
    spec.commitments = [];
    return parseSpec(spec);
  };

  it('a zone ICU knows but Postgres does not is refused, and nothing is written', async () => {
    // US/Pacific-New was removed from the tz database in 2020; Node's ICU still accepts it.
    await expect(applyAccountSpec(db, withZone('US/Pacific-New'), { asOfMs: TEST_AS_OF })).rejects.toThrow(
      /\$\.account\.timezone: "US\/Pacific-New" is not a time zone this Postgres knows/,
    );
    expect(await db('accounts').where({ id: 'tz' }).first()).toBeUndefined();
  });

  it('abbreviations are refused (IST is India to ICU, Israel to Postgres); a wrong case is named', async () => {
    for (const tz of ['IST', 'PST', 'CST', 'BST', 'EST']) {
      await expect(applyAccountSpec(db, withZone(tz), { asOfMs: TEST_AS_OF })).rejects.toThrow(
        /is an abbreviation, which Postgres and ICU read as different zones/,
      );
    }
    await expect(applyAccountSpec(db, withZone('europe/paris'), { asOfMs: TEST_AS_OF })).rejects.toThrow(
      /did you mean "Europe\/Paris"/,
    );
    const ok = await applyAccountSpec(db, withZone('America/New_York'), { asOfMs: TEST_AS_OF });
    expect(ok.changes).toContain('account tz: created');
  });

  it('--dry-run makes every check, lists the changes and writes nothing', async () => {
    const spec = withZone('Asia/Kolkata');
    const before = await db('accounts').where({ id: 'tz' }).first('timezone');
    const r = await applyAccountSpec(db, spec, { asOfMs: TEST_AS_OF, dryRun: true });
    expect(r.changes).toEqual(['account tz: updated']);
    expect(await db('accounts').where({ id: 'tz' }).first('timezone')).toEqual(before);
    await expect(applyAccountSpec(db, withZone('IST'), { asOfMs: TEST_AS_OF, dryRun: true })).rejects.toThrow(
      /abbreviation/,
    );
  });
});
