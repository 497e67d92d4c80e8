import type { Knex } from 'knex';
import { addUser, createRole } from '../../db/access';
import { applyAccountSpec } from '../../db/accounts';
import { authenticate, createKey, revokeKey, type CreatedKey } from '../../db/keys';
import { cloneTestDatabase } from '../support/db';
import { count, exampleSpecJson, parseSpec, TEST_AS_OF } from '../support/fixtures';

/** Roles, users and keys in the database: the spec's access section, the audit log, key scopes, authentication. */
let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => ({ db, drop } = await cloneTestDatabase()));
afterAll(async () => drop());

const ACTOR = 'test:access';
const CFO = 'cfo@acme.example';
const OPS = 'ops@acme.example';

type Access = {
  roles: { name: string; permissions: string[] }[];
  users: { email: string; org: string; roles: string[] }[];
};
const apply = (access: Access | undefined) =>
  applyAccountSpec(db, parseSpec({ ...exampleSpecJson(), ...(access ? { access } : {}) }), {
    asOfMs: TEST_AS_OF,
    actor: ACTOR,
  });

const ACCESS: Access = {
  roles: [{ name: 'finance', permissions: ['usage_read', 'billing_read'] }],
  users: [
    { email: 'CFO@acme.example', org: 'acme', roles: ['finance'] },
    { email: OPS, org: 'client-a', roles: ['standard', 'finance'] },
  ],
};

async function accessSnapshot(): Promise<unknown> {
  return {
    roles: await db('roles').select('*').orderBy('name'),
    users: await db('users').select('*').orderBy('email'),
    user_roles: await db('user_roles').select('*').orderBy(['user_id', 'role_id']),
    api_keys: await db('api_keys').select('*').orderBy('id'),
  };
}

const newKey = (email: string, extra: { scopes?: string[]; expiresAt?: string } = {}) =>
  db.transaction((trx) => createKey(trx, { accountId: 'acme', email, name: 'test', actor: ACTOR, ...extra }));

describe('the access section of an account spec', () => {
  it('is applied once; the second apply changes no row and writes no audit row', async () => {
    const first = await apply(ACCESS);
    expect(first.changes).toEqual(
      expect.arrayContaining([
        'role finance: created',
        `user ${CFO}: acme, roles finance`,
        `user ${OPS}: client-a, roles standard, finance`,
      ]),
    );
    const before = await accessSnapshot();
    const audits = await count(db, 'audit_log');
    const second = await apply(ACCESS);
    expect(second.changes).toEqual([]);
    expect(await accessSnapshot()).toEqual(before);
    expect(await count(db, 'audit_log')).toBe(audits);
    const users = await db('users as u')
      .join('orgs as o', 'o.id', 'u.org_id')
      .orderBy('u.email')
      .select('u.email', 'o.public_id as org');
    expect(users).toEqual([
      { email: CFO, org: 'acme' },
      { email: OPS, org: 'client-a' },
    ]);
  });

  it('a spec without the section leaves access as it is', async () => {
    const before = await accessSnapshot();
    expect((await apply(undefined)).changes).toEqual([]);
    expect(await accessSnapshot()).toEqual(before);
  });

  it('a user left out of the spec is removed with its keys; roles it no longer names are taken away', async () => {
    const opsKey = await newKey(OPS);
    const cfoKey = await newKey(CFO);
    expect((await authenticate(db, opsKey.api_key, opsKey.application_key)).ok).toBe(true);
    const edited: Access = {
      roles: ACCESS.roles,
      users: [{ email: CFO, org: 'acme', roles: ['read_only'] }],
    };
    const r = await apply(edited);
    expect(r.changes).toEqual(
      expect.arrayContaining([
        `user ${OPS}: removed`,
        `user ${CFO}: roles finance taken away`,
        `user ${CFO}: acme, roles read_only`,
      ]),
    );
    expect(await db('users').pluck('email')).toEqual([CFO]);
    expect(await db('api_keys').pluck('id')).toEqual([cfoKey.id]);
    expect(await authenticate(db, opsKey.api_key, opsKey.application_key)).toEqual({
      ok: false,
      reason: 'unknown API key',
    });
    const cfo = await authenticate(db, cfoKey.api_key, cfoKey.application_key);
    expect(cfo.ok && [...cfo.permissions].sort()).toEqual(['dashboards_read', 'user_access_read']);
    expect((await apply(edited)).changes).toEqual([]);
    // the custom role is no longer held; leaving it out of the spec deletes it
    expect((await apply({ roles: [], users: edited.users })).changes).toEqual(['role finance: deleted']);
    expect(await db('roles').where({ account_id: 'acme' }).orderBy('name').pluck('name')).toEqual([
      'admin',
      'read_only',
      'standard',
    ]);
    const audit = await db('audit_log').where({ actor: ACTOR }).orderBy('id').pluck('action');
    expect(audit).toEqual(
      expect.arrayContaining(['user.remove', 'user.update', 'role.delete', 'spec.apply']),
    );
  });
});

describe('audit_log', () => {
  it('refuses UPDATE, DELETE and TRUNCATE, whoever asks', async () => {
    const n = await count(db, 'audit_log');
    expect(n).toBeGreaterThan(0);
    await expect(db.raw(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(
      /audit_log is append-only: UPDATE refused/,
    );
    await expect(db.raw(`DELETE FROM audit_log`)).rejects.toThrow(/audit_log is append-only: DELETE refused/);
    await expect(db.raw(`TRUNCATE audit_log`)).rejects.toThrow(/audit_log is append-only: TRUNCATE refused/);
    expect(await count(db, 'audit_log')).toBe(n);
    expect(await db('audit_log').where({ actor: 'someone else' }).count({ n: '*' })).toEqual([{ n: '0' }]);
  });

  it('a change and its audit row commit together or not at all', async () => {
    const n = await count(db, 'audit_log');
    await expect(
      db.transaction(async (trx) => {
        await createRole(trx, {
          accountId: 'acme',
          name: 'doomed',
          permissions: ['usage_read'],
          actor: ACTOR,
        });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await count(db, 'audit_log')).toBe(n);
    expect(await db('roles').where({ name: 'doomed' }).count({ n: '*' })).toEqual([{ n: '0' }]);
  });
});

describe('keys', () => {
  beforeAll(async () => {
    await db.transaction(async (trx) => {
      await createRole(trx, {
        accountId: 'acme',
        name: 'usage',
        permissions: ['usage_read', 'usage_edit'],
        actor: ACTOR,
      });
      await addUser(trx, { accountId: 'acme', email: OPS, org: 'client-a', roles: ['usage'], actor: ACTOR });
    });
  });

  it("scopes are a subset of the user's permissions", async () => {
    await expect(newKey(OPS, { scopes: ['usage_read', 'billing_read'] })).rejects.toThrow(
      `${OPS} does not hold billing_read: a key's scopes are a subset of its user's permissions`,
    );
    await expect(newKey(OPS, { scopes: ['no_such_permission'] })).rejects.toThrow(/unknown permission/);
    await expect(newKey('nobody@acme.example')).rejects.toThrow(
      /no user nobody@acme\.example in account acme/,
    );
    const narrowed = await newKey(OPS, { scopes: ['usage_read'] });
    const auth = await authenticate(db, narrowed.api_key, narrowed.application_key);
    expect(auth).toMatchObject({ ok: true, email: OPS, accountId: 'acme', org: 'client-a' });
    expect(auth.ok && [...auth.permissions]).toEqual(['usage_read']);
    const whole = await newKey(OPS);
    const all = await authenticate(db, whole.api_key, whole.application_key);
    expect(all.ok && [...all.permissions].sort()).toEqual(['usage_edit', 'usage_read']);
  });

  describe('authenticate', () => {
    let key: CreatedKey;
    beforeAll(async () => {
      key = await newKey(OPS);
    });

    it('the right pair is let in; the API key alone too (validate)', async () => {
      expect((await authenticate(db, key.api_key, key.application_key)).ok).toBe(true);
      expect((await authenticate(db, key.api_key, undefined)).ok).toBe(true);
    });

    it('an unknown API key, or an application key of another pair, is refused', async () => {
      const other = await newKey(OPS);
      expect(await authenticate(db, 'otk_nothing', key.application_key)).toEqual({
        ok: false,
        reason: 'unknown API key',
      });
      expect(await authenticate(db, key.application_key, key.api_key)).toMatchObject({ ok: false });
      expect(await authenticate(db, key.api_key, other.application_key)).toEqual({
        ok: false,
        reason: `key ${key.id}: the application key does not belong to this API key`,
      });
      expect(await authenticate(db, key.api_key, '')).toMatchObject({ ok: false });
    });

    it('an expired key is refused', async () => {
      const expired = await newKey(OPS, { expiresAt: new Date(Date.now() - 1000).toISOString() });
      expect(await authenticate(db, expired.api_key, expired.application_key)).toEqual({
        ok: false,
        reason: `key ${expired.id} has expired`,
      });
      const later = await newKey(OPS, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
      expect((await authenticate(db, later.api_key, later.application_key)).ok).toBe(true);
    });

    it('a revoked key is refused from the next request on', async () => {
      await db.transaction((trx) => revokeKey(trx, { accountId: 'acme', id: key.id, actor: ACTOR }));
      expect(await authenticate(db, key.api_key, key.application_key)).toEqual({
        ok: false,
        reason: `key ${key.id} is revoked`,
      });
      expect(await authenticate(db, key.api_key, undefined)).toMatchObject({ ok: false });
    });
  });
});
