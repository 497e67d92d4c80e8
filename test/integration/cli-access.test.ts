import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { authenticate } from '../../db/keys';
import { PROJECT_ROOT } from '../../infra/config';
import { cloneTestDatabase } from '../support/db';
import { applyExample, tempDir, writeFile } from '../support/fixtures';

/** The access commands (roles, users, keys, audit, serve) through the real CLI, against this file's database. */
let db: Knex;
let url: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, url, drop } = await cloneTestDatabase());
  await applyExample(db);
});
afterAll(async () => drop());

const BIN = path.join(PROJECT_ROOT, 'bin', 'orgtally');
function orgtally(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const ok = (r: ReturnType<typeof orgtally>) => {
  expect([r.status, r.stderr]).toEqual([0, '']);
  return r.stdout;
};
const fails = (r: ReturnType<typeof orgtally>, message: RegExp) => {
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/SELECT|INSERT|violates|syntax|\n\s+at /); // one line, never SQL or a stack
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.status).toBe(1);
};
const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const ACTOR = `cli:${os.userInfo().username}`;
const CFO = 'cfo@acme.example';
const OPS = 'ops@acme.example';

describe('orgtally roles', () => {
  it('create, list (table and JSON); a second create of the name is refused', () => {
    expect(
      ok(
        orgtally(
          'roles',
          'create',
          '--account',
          'acme',
          '--name',
          'finance',
          '--permissions',
          'usage_read, billing_read',
        ),
      ),
    ).toBe('role finance created in account acme: billing_read, usage_read\n');
    const roles = jsonLines(ok(orgtally('roles', 'list', '--account', 'acme', '--format', 'json')));
    expect(roles.map((r) => [r.name, r.managed, r.user_count])).toEqual([
      ['admin', true, 0],
      ['read_only', true, 0],
      ['standard', true, 0],
      ['finance', false, 0],
    ]);
    expect(roles.find((r) => r.name === 'finance').permissions).toEqual(['billing_read', 'usage_read']);
    const table = ok(orgtally('roles', 'list', '--account', 'acme'));
    expect(table).toMatch(/^finance +custom +0 users/m);
    expect(table).toMatch(/^ {4}billing_read, usage_read$/m);
    fails(
      orgtally('roles', 'create', '--account', 'acme', '--name', 'finance', '--permissions', 'usage_read'),
      /orgtally: role "finance" exists already in account acme/,
    );
  });

  it('errors: an unknown permission, a managed name, a bad name, an unknown account, a bad --format', () => {
    fails(
      orgtally('roles', 'create', '--account', 'acme', '--name', 'x', '--permissions', 'usage_read,bogus'),
      /unknown permission "bogus" \(permissions: usage_read, usage_edit, .*user_access_manage\)/,
    );
    fails(
      orgtally('roles', 'create', '--account', 'acme', '--name', 'x', '--permissions', ' , '),
      /--permissions needs at least one permission/,
    );
    fails(
      orgtally('roles', 'create', '--account', 'acme', '--name', 'admin', '--permissions', 'usage_read'),
      /"admin" is a managed role: pick another name/,
    );
    fails(
      orgtally('roles', 'create', '--account', 'acme', '--name', 'Big Role', '--permissions', 'usage_read'),
      /role name "Big Role" must be lower-case/,
    );
    fails(
      orgtally('roles', 'create', '--account', 'nope', '--name', 'x', '--permissions', 'usage_read'),
      /no account "nope" \(accounts: acme\)/,
    );
    fails(
      orgtally('roles', 'list', '--account', 'acme', '--format', 'csv'),
      /--format must be table or json/,
    );
    fails(
      orgtally('roles', 'delete', '--account', 'acme', '--name', 'read_only'),
      /managed role: it cannot be deleted/,
    );
    fails(
      orgtally('roles', 'delete', '--account', 'acme', '--name', 'ghost'),
      /no role "ghost" in account acme/,
    );
  });
});

describe('orgtally users', () => {
  it('add is idempotent; list shows org and roles', () => {
    const args = ['users', 'add', '--account', 'acme', '--email', 'CFO@Acme.example', '--org', 'acme'];
    expect(ok(orgtally(...args, '--role', 'finance', '--role', 'read_only'))).toBe(
      `user ${CFO} added in account acme: org acme, roles finance, read_only\n`,
    );
    expect(ok(orgtally(...args, '--role', 'read_only,finance'))).toBe(
      `user ${CFO} in account acme: no changes\n`,
    );
    expect(
      ok(
        orgtally(
          'users',
          'add',
          '--account',
          'acme',
          '--email',
          OPS,
          '--org',
          'client-a',
          '--role',
          'standard',
        ),
      ),
    ).toContain('added');
    expect(
      ok(
        orgtally(
          'users',
          'add',
          '--account',
          'acme',
          '--email',
          OPS,
          '--org',
          'client-a',
          '--role',
          'finance',
        ),
      ),
    ).toBe(`user ${OPS} updated in account acme: org client-a, roles finance, standard\n`);
    const users = jsonLines(ok(orgtally('users', 'list', '--account', 'acme', '--format', 'json')));
    expect(users.map((u) => [u.email, u.org, u.roles, u.keys])).toEqual([
      [CFO, 'acme', ['finance', 'read_only'], 0],
      [OPS, 'client-a', ['finance', 'standard'], 0],
    ]);
    expect(ok(orgtally('users', 'list', '--account', 'acme'))).toMatch(
      /^cfo@acme\.example +acme +finance, read_only +0/m,
    );
  });

  it('errors: an unknown org or role, no role, a bad e-mail, a role that a user holds', () => {
    const add = ['users', 'add', '--account', 'acme', '--email', 'x@acme.example'];
    fails(orgtally(...add, '--org', 'nowhere', '--role', 'standard'), /no org "nowhere" in account acme/);
    fails(
      orgtally(...add, '--org', 'acme', '--role', 'ghost'),
      /no role "ghost" in account acme \(roles: admin, /,
    );
    fails(orgtally(...add, '--org', 'acme'), /required option '--role <role>' not specified/);
    fails(
      orgtally(
        'users',
        'add',
        '--account',
        'acme',
        '--email',
        'a@x.example,b@x.example',
        '--org',
        'acme',
        '--role',
        'admin',
      ),
      /--email must be one e-mail address/,
    );
    fails(
      orgtally('roles', 'delete', '--account', 'acme', '--name', 'finance'),
      /role "finance" is held by 2 users: take it from them first/,
    );
    fails(
      orgtally('users', 'remove', '--account', 'acme', '--email', 'x@acme.example'),
      /no user x@acme\.example/,
    );
  });
});

let jsonKey: { id: string; api_key: string; application_key: string; expires_at: string | null };
let textKey: { id: string; api_key: string; application_key: string };

describe('orgtally keys', () => {
  it('create --json: exactly one JSON object on stdout; the account found from the e-mail; --expires', async () => {
    const before = Date.now();
    const r = orgtally('keys', 'create', '--user', CFO, '--name', 'reporting', '--expires', '90d', '--json');
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    jsonKey = JSON.parse(r.stdout);
    expect(Object.keys(jsonKey)).toEqual(['id', 'api_key', 'application_key', 'expires_at']);
    expect(jsonKey.api_key).toMatch(/^otk_[A-Za-z0-9_-]{43}$/);
    expect(jsonKey.application_key).toMatch(/^ota_[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(jsonKey.expires_at as string);
    const day = 86_400_000;
    expect(expires).toBeGreaterThanOrEqual(before + 90 * day - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 90 * day + 1000);
    const auth = await authenticate(db, jsonKey.api_key, jsonKey.application_key);
    expect(auth).toMatchObject({ ok: true, email: CFO, accountId: 'acme', org: 'acme' });
  });

  it('the database holds digests only: no key text in api_keys or audit_log', async () => {
    const { rows } = await db.raw(`SELECT row_to_json(k)::text AS j FROM api_keys k`);
    const { rows: audit } = await db.raw(`SELECT row_to_json(a)::text AS j FROM audit_log a`);
    expect(rows).toHaveLength(1);
    for (const secret of [jsonKey.api_key, jsonKey.application_key]) {
      const body = secret.slice(4); // without the readable prefix
      for (const r of [...rows, ...audit] as { j: string }[]) {
        expect(r.j).not.toContain(body);
        expect(r.j).not.toContain(body.slice(0, 16));
      }
    }
    const row = await db('api_keys').where({ id: jsonKey.id }).first();
    expect(
      Buffer.from(row.api_key_digest).equals(createHash('sha256').update(jsonKey.api_key).digest()),
    ).toBe(true);
    expect(
      Buffer.from(row.app_key_digest).equals(createHash('sha256').update(jsonKey.application_key).digest()),
    ).toBe(true);
    expect(row.hint).toBe(`otk_…${jsonKey.api_key.slice(-4)}`);
  });

  it('create without --json: a readable block that says the keys are shown once; --scopes narrows', async () => {
    const out = ok(orgtally('keys', 'create', '--user', CFO, '--account', 'acme', '--scopes', 'usage_read'));
    expect(out).toMatch(/^key [0-9a-f-]{36} created for cfo@acme\.example \(account acme, org acme\)$/m);
    expect(out).toMatch(/scopes: +usage_read$/m);
    expect(out).toMatch(/expires: +never$/m);
    expect(out).toMatch(/shown only this once/);
    textKey = {
      id: /^key ([0-9a-f-]{36})/m.exec(out)?.[1] as string,
      api_key: /API key: +(otk_\S+)$/m.exec(out)?.[1] as string,
      application_key: /application key: +(ota_\S+)$/m.exec(out)?.[1] as string,
    };
    const auth = await authenticate(db, textKey.api_key, textKey.application_key);
    expect(auth.ok && [...auth.permissions]).toEqual(['usage_read']);
  });

  it('create: errors say what is wrong', async () => {
    fails(
      orgtally('keys', 'create', '--user', CFO, '--scopes', 'usage_edit'),
      /cfo@acme\.example does not hold usage_edit: a key's scopes are a subset of its user's permissions/,
    );
    fails(
      orgtally('keys', 'create', '--user', CFO, '--scopes', 'nope'),
      /--scopes: unknown permission "nope"/,
    );
    for (const bad of ['0d', '367d', '90', '-1d', '1w'])
      fails(
        orgtally('keys', 'create', '--user', CFO, '--expires', bad),
        /--expires must be a duration like "90d"/,
      );
    fails(
      orgtally('keys', 'create', '--user', 'nobody@acme.example'),
      /nobody@acme\.example is not a user of any account/,
    );
    fails(
      orgtally('keys', 'create', '--user', CFO, '--account', 'nope'),
      /no account "nope" \(accounts: acme\)/,
    );
    expect(await db('api_keys').count({ n: '*' })).toEqual([{ n: '2' }]);
  });

  it('create: an e-mail that is a user of two accounts must say which', () => {
    const dir = tempDir('cli-access');
    const spec = {
      account: { id: 'beta', name: 'Beta', timezone: 'UTC', lateness: '72h' },
      orgs: [{ id: 'beta', name: 'Beta' }],
      products: [{ code: 'infra_hosts', unit: 'host', aggregation: 'p99' }],
      access: { roles: [], users: [{ email: CFO, org: 'beta', roles: ['read_only'] }] },
    };
    const file = writeFile(dir, 'beta.json', [JSON.stringify(spec)]);
    expect(ok(orgtally('account', 'apply', file))).toContain(`user ${CFO}: beta, roles read_only`);
    expect(ok(orgtally('account', 'apply', file))).toBe('account beta: no changes\n');
    fails(
      orgtally('keys', 'create', '--user', CFO, '--json'),
      /cfo@acme\.example is a user of accounts acme, beta: say which with --account/,
    );
    const r = orgtally('keys', 'create', '--user', CFO, '--account', 'beta', '--json');
    expect(r.status).toBe(0);
    expect(jsonLines(ok(orgtally('keys', 'list', '--account', 'beta', '--format', 'json')))).toMatchObject([
      { id: JSON.parse(r.stdout).id, email: CFO, org: 'beta' },
    ]);
  });

  it('list: hint, scopes, created, expires, revoked, last used — never a secret', () => {
    const table = ok(orgtally('keys', 'list', '--account', 'acme'));
    const json = ok(orgtally('keys', 'list', '--account', 'acme', '--user', CFO, '--format', 'json'));
    for (const out of [table, json])
      for (const k of [jsonKey, textKey]) {
        expect(out).not.toContain(k.api_key.slice(4, 20));
        expect(out).not.toContain(k.application_key.slice(4, 20));
      }
    expect(table).toMatch(
      new RegExp(`^${jsonKey.id} +cfo@acme\\.example +reporting +otk_….{4} +active$`, 'm'),
    );
    expect(table).toMatch(/^ {4}scopes usage_read; created \S+Z; expires never; last used never$/m);
    const rows = jsonLines(json);
    expect(rows.map((k) => [k.id, k.name, k.scopes, k.revoked_at, k.last_used_at])).toEqual([
      [jsonKey.id, 'reporting', null, null, null],
      [textKey.id, expect.stringMatching(/^cli \d{4}-\d{2}-\d{2}$/), ['usage_read'], null, null],
    ]);
    expect(rows[0].expires_at).toBe(jsonKey.expires_at);
    for (const k of rows)
      for (const secret of ['api_key', 'application_key']) expect(k).not.toHaveProperty(secret);
    expect(ok(orgtally('keys', 'list', '--account', 'acme', '--user', OPS))).toBe('(none)\n');
  });

  it('revoke: the key is refused from then on; again says so; an unknown id is an error', async () => {
    expect(ok(orgtally('keys', 'revoke', '--account', 'acme', '--id', textKey.id))).toMatch(
      /^key \S+ \(cfo@acme\.example, cli .*\) revoked\n$/,
    );
    expect(ok(orgtally('keys', 'revoke', '--account', 'acme', '--id', textKey.id))).toMatch(
      /was revoked already, at \S+Z/,
    );
    fails(
      orgtally('keys', 'revoke', '--account', 'acme', '--id', 'not-a-key'),
      /no key not-a-key in account acme/,
    );
    // a key of another account is not found through this one
    fails(orgtally('keys', 'revoke', '--account', 'beta', '--id', jsonKey.id), /no key .* in account beta/);
    expect(await authenticate(db, textKey.api_key, textKey.application_key)).toEqual({
      ok: false,
      reason: `key ${textKey.id} is revoked`,
    });
    expect((await authenticate(db, jsonKey.api_key, jsonKey.application_key)).ok).toBe(true);
    const table = ok(orgtally('keys', 'list', '--account', 'acme'));
    expect(table).toMatch(new RegExp(`^${textKey.id} .* revoked$`, 'm'));
    expect(table).toMatch(/; revoked \S+Z; last used never$/m);
  });

  it('users remove takes the keys with it; then the role can go', async () => {
    expect(ok(orgtally('users', 'remove', '--account', 'acme', '--email', CFO))).toBe(
      `user ${CFO} removed from account acme with its 1 active key\n`,
    );
    expect(await authenticate(db, jsonKey.api_key, jsonKey.application_key)).toEqual({
      ok: false,
      reason: 'unknown API key',
    });
    expect(ok(orgtally('keys', 'list', '--account', 'acme'))).toBe('(none)\n');
    expect(ok(orgtally('users', 'remove', '--account', 'acme', '--email', OPS))).toBe(
      `user ${OPS} removed from account acme\n`,
    );
    expect(ok(orgtally('roles', 'delete', '--account', 'acme', '--name', 'finance'))).toBe(
      'role finance deleted from account acme\n',
    );
    const roles = jsonLines(ok(orgtally('roles', 'list', '--account', 'acme', '--format', 'json')));
    expect(roles.map((r) => r.name)).toEqual(['admin', 'read_only', 'standard']);
  });
});

describe('orgtally audit list', () => {
  it('every change, newest first, with the actor cli:<os user>', () => {
    const rows = jsonLines(
      ok(orgtally('audit', 'list', '--account', 'acme', '--format', 'json', '--limit', '100')),
    );
    const ids = rows.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const cli = rows.filter((r) => r.actor === ACTOR).reverse();
    expect(cli.map((r) => [r.action, r.target.replace(/[0-9a-f-]{36}/, 'ID')])).toEqual([
      ['role.create', 'role:finance'],
      ['user.add', `user:${CFO}`],
      ['user.add', `user:${OPS}`],
      ['user.update', `user:${OPS}`],
      ['key.create', 'key:ID'],
      ['key.create', 'key:ID'],
      ['key.revoke', 'key:ID'],
      ['user.remove', `user:${CFO}`],
      ['user.remove', `user:${OPS}`],
      ['role.delete', 'role:finance'],
    ]);
    expect(cli.find((r) => r.action === 'user.update')).toMatchObject({
      before: { org: 'client-a', roles: ['standard'] },
      after: { org: 'client-a', roles: ['finance', 'standard'] },
    });
    expect(cli.find((r) => r.action === 'key.revoke')?.target).toBe(`key:${textKey.id}`);
    // the example was applied by the test itself (actor "system"), beta through the CLI
    expect(rows.filter((r) => r.action === 'spec.apply').map((r) => r.actor)).toEqual(['system']);
    const all = jsonLines(ok(orgtally('audit', 'list', '--format', 'json', '--limit', '100')));
    expect(all.find((r) => r.account_id === 'beta' && r.action === 'spec.apply')).toMatchObject({
      actor: ACTOR,
    });

    const table = ok(orgtally('audit', 'list', '--account', 'acme', '--limit', '2'));
    expect(table).toMatch(new RegExp(`^\\d+ +\\S+Z +acme +${ACTOR} +role\\.delete +role:finance$`, 'm'));
    expect(table).toMatch(/^ {4}before \{"permissions":\["billing_read","usage_read"\]\}$/m);
    expect(table.trim().split('\n')).toHaveLength(4);
    expect(ok(orgtally('audit', 'list', '--since', '2999-01-01T00:00:00Z'))).toBe('(none)\n');
    fails(orgtally('audit', 'list', '--since', 'yesterday'), /--since must be an ISO 8601 instant/);
    fails(orgtally('audit', 'list', '--account', 'nope'), /no account "nope" \(accounts: acme, beta\)/);
    fails(orgtally('audit', 'list', '--limit', '0'), /--limit must be a whole number from 1/);
  });
});

describe('orgtally serve', () => {
  it('a port that is taken is a clear error', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      fails(
        orgtally('serve', '--host', '127.0.0.1', '--port', String(port)),
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`),
      );
    } finally {
      blocker.close();
    }
    fails(orgtally('serve', '--port', '70000'), /--port must be a TCP port \(0-65535\)/);
  });

  it('listens, says where, serves the OpenAPI document, and stops on SIGTERM with exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0'], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    const line = await new Promise<string>((resolve, reject) => {
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        stderr += d;
        const m = /^orgtally API listening on .*$/m.exec(stderr);
        if (m) resolve(m[0]);
      });
      void exited.then((code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
    });
    const m = /^orgtally API listening on (http:\/\/127\.0\.0\.1:(\d+)) \(OpenAPI: (\S+)\)$/.exec(line);
    expect(m).not.toBeNull();
    const [, base, , openapi] = m as RegExpExecArray;
    expect(openapi).toBe(`${base}/api/openapi.json`);
    const res = await fetch(openapi as string);
    expect(res.status).toBe(200);
    expect((await res.json()) as object).toHaveProperty('openapi');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
