import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { findShare, openShare } from '../../db/shares';
import { PROJECT_ROOT } from '../../infra/config';
import { shareJson } from '../../queries/share-json';
import { cloneTestDatabase } from '../support/db';
import { applyExample } from '../support/fixtures';

/** `orgtally dashboards …` through the real CLI, against this file's database. */
let db: Knex;
let url: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, url, drop } = await cloneTestDatabase());
  await applyExample(db);
});
afterAll(async () => drop());

const BIN = path.join(PROJECT_ROOT, 'bin', 'orgtally');
const PUBLIC = 'https://usage.acme.example';
function orgtally(...args: string[]) {
  return run({ ORGTALLY_PUBLIC_URL: `${PUBLIC}/` }, ...args);
}
function run(env: Record<string, string | undefined>, ...args: string[]) {
  const merged: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  const r = spawnSync(process.execPath, [BIN, ...args], { env: merged, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const ok = (r: ReturnType<typeof orgtally>) => {
  expect([r.status, r.stderr]).toEqual([0, '']);
  return r.stdout;
};
const fails = (r: ReturnType<typeof orgtally>, message: RegExp) => {
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/SELECT|INSERT|violates|syntax|\n\s+at /);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stdout).toBe('');
  expect(r.status).toBe(1);
};
const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const row = async (id: string) => {
  const s = await findShare(db, 'acme', id);
  if (!s) throw new Error(`no share ${id}`);
  return s;
};
const count = async (sql: string) => Number((await db.raw(sql)).rows[0].n);
const writes = async () => ({
  shares: await count(`SELECT count(*) AS n FROM shares`),
  invitees: await count(`SELECT count(*) AS n FROM share_invitees`),
  audit: await count(`SELECT count(*) AS n FROM audit_log WHERE action LIKE 'share.%'`),
});

const DAY = 86_400_000;
const ACTOR = `cli:${os.userInfo().username}`;
const LINK = /^ {2}link: +(\S+\/shared\/(ots_[\w-]{43}))$/m;

let open: { id: string; token: string };
let invite: { id: string; token: string };

describe('orgtally dashboards share', () => {
  it('prints the link once; the database holds its digest, never the token', async () => {
    const before = Date.now();
    const out = ok(
      orgtally(
        'dashboards',
        'share',
        '--account',
        'acme',
        '--org',
        'client-a',
        '--title',
        'Client A, production',
        '--expires',
        '30d',
        '--lock',
        'team=web',
        '--lock',
        'env=prod',
      ),
    );
    const id = /^shared dashboard ([0-9a-f-]{36}) created for org client-a \(Client A\), account acme$/m.exec(
      out,
    )?.[1];
    const link = LINK.exec(out);
    expect(id).toBeDefined();
    expect(link?.[1]).toBe(`${PUBLIC}/shared/${link?.[2]}`);
    open = { id: id as string, token: link?.[2] as string };
    expect(out).toMatch(/^ {2}title: +Client A, production$/m);
    expect(out).toMatch(/^ {2}shared: +anyone with the link$/m);
    expect(out).toMatch(/^ {2}locks: +env=prod, team=web$/m);
    expect(out).toMatch(/^ {2}shows: +usage, commitment$/m);
    expect(out).toMatch(/shown only this once/);
    expect(out).toContain(`orgtally dashboards rotate ${open.id} --account acme`);

    const stored = await db('shares').where({ id: open.id }).first();
    expect(Buffer.from(stored.digest).equals(createHash('sha256').update(open.token).digest())).toBe(true);
    const body = open.token.slice(4);
    for (const table of ['shares', 'audit_log']) {
      const { rows } = await db.raw(`SELECT row_to_json(t)::text AS j FROM ?? t`, [table]);
      for (const r of rows as { j: string }[]) expect(r.j).not.toContain(body.slice(0, 16));
    }
    const s = await row(open.id);
    expect([s.org, s.title, s.share_type, s.locks, s.show_cost, s.show_commitment, s.state]).toEqual([
      'client-a',
      'Client A, production',
      'open',
      { env: 'prod', team: 'web' },
      false,
      true,
      'active',
    ]);
    expect(Date.parse(s.expires_at)).toBeGreaterThanOrEqual(before + 30 * DAY - 1000);
    expect(Date.parse(s.expires_at)).toBeLessThanOrEqual(Date.now() + 30 * DAY + 1000);
    expect(await openShare(db, open.token)).toMatchObject({ id: open.id, org: 'client-a' });
  });

  it('--json prints exactly shareJson of the row, with the token; --invite makes it invite-only', async () => {
    const r = orgtally(
      'dashboards',
      'share',
      '--account',
      'acme',
      '--org',
      'client-b',
      '--invite',
      'Fin@Client-B.example, cto@client-b.example',
      '--invite',
      'ops@client-b.example',
      '--show-cost',
      '--no-commitment',
      '--expires',
      '2027-06-30T00:00:00Z',
      '--json',
    );
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const printed = JSON.parse(r.stdout);
    invite = { id: printed.id, token: printed.token };
    expect(invite.token).toMatch(/^ots_[\w-]{43}$/);
    expect(printed).toEqual(shareJson(await row(invite.id), { publicUrl: PUBLIC, token: invite.token }));
    expect(printed).toMatchObject({
      public_url: `${PUBLIC}/shared/${invite.token}`,
      dashboard_id: 'client-b',
      title: 'Client B usage',
      share_type: 'invite',
      status: 'active',
      expiration: '2027-06-30T00:00:00+00:00',
      author: { handle: ACTOR.slice(4) },
      show_cost: true,
      show_commitment: false,
      selectable_template_vars: [],
    });
    expect(printed.invitees.map((i: { email: string }) => i.email)).toEqual([
      'cto@client-b.example',
      'fin@client-b.example',
      'ops@client-b.example',
    ]);
  });

  it('without ORGTALLY_PUBLIC_URL the link is on the address `serve` listens on; default expiry one year', async () => {
    const before = Date.now();
    const r = run(
      { ORGTALLY_PUBLIC_URL: undefined, ORGTALLY_HTTP_HOST: '127.0.0.1', ORGTALLY_HTTP_PORT: '8099' },
      'dashboards',
      'share',
      '--account',
      'acme',
      '--org',
      'client-c',
      '--json',
    );
    expect([r.status, r.stderr]).toEqual([0, '']);
    const printed = JSON.parse(r.stdout);
    expect(printed.public_url).toBe(`http://127.0.0.1:8099/shared/${printed.token}`);
    expect(printed.title).toBe('Client C usage');
    expect(Date.parse(printed.expiration)).toBeGreaterThanOrEqual(before + 365 * DAY - 1000);
    expect(Date.parse(printed.expiration)).toBeLessThanOrEqual(Date.now() + 365 * DAY + 1000);
  });

  it('bad options are errors that name the option, and write nothing', async () => {
    const before = await writes();
    const share = ['dashboards', 'share', '--account', 'acme', '--org', 'client-a'];
    fails(
      orgtally(...share, '--lock', 'env'),
      /--lock must be key=value with a tag key, e.g. env=prod, not "env"/,
    );
    fails(orgtally(...share, '--lock', '=prod'), /--lock must be key=value/);
    fails(
      orgtally(...share, '--lock', 'colour=blue'),
      /--lock: "colour" is not a tag key of acme \(its keys: env, service, team\)/,
    );
    fails(orgtally(...share, '--lock', 'env='), /--lock: env needs a value, e.g. env=prod/);
    fails(orgtally(...share, '--lock', 'env=a', '--lock', 'env=b'), /--lock: env is locked twice/);
    for (const bad of ['0d', '367d', 'soon'])
      fails(
        orgtally(...share, '--expires', bad),
        new RegExp(
          `--expires must be a duration like "30d" or "12h" \\(1h to 366d\\) or an ISO 8601 date-time .*"${bad}"`,
        ),
      );
    fails(orgtally(...share, '--expires', '2027-13-45'), /--expires must be an ISO 8601 instant/);
    fails(orgtally(...share, '--expires', '2020-01-01T00:00:00Z'), /--expires: must be in the future/);
    fails(orgtally(...share, '--invite', 'not-an-address'), /--invite must be one e-mail address/);
    fails(
      orgtally(...share, '--invite', 'a@client-a.example', '--invite', 'A@client-a.example'),
      /--invite: a@client-a\.example is listed twice/,
    );
    fails(orgtally(...share, '--title', '  '), /--title: give 1 to 200 characters/);
    fails(
      orgtally('dashboards', 'share', '--account', 'acme', '--org', 'nowhere'),
      /no org "nowhere" in account acme \(orgs: acme, /,
    );
    fails(
      orgtally('dashboards', 'share', '--account', 'nope', '--org', 'client-a'),
      /no account "nope" \(accounts: acme\)/,
    );
    fails(orgtally('dashboards', 'share', '--account', 'acme'), /required option '--org <id>' not specified/);
    // a typo'd option: commander's error and its suggestion, as every command gives
    const typo = orgtally(...share, '--tilte', 'x');
    expect(typo.stderr).toBe("error: unknown option '--tilte'\n(Did you mean --title?)\n");
    expect(typo.status).toBe(1);
    expect(await writes()).toEqual(before);
  }, 180_000); // some twenty runs of the CLI, each a second or two on a busy machine
});

describe('orgtally dashboards list / pause / resume / rotate / revoke', () => {
  it('list: each share with its org, type, state and title; details on the next line; never a token', async () => {
    const out = ok(orgtally('dashboards', 'list', '--account', 'acme'));
    expect(out).not.toMatch(/ots_/);
    expect(out).toMatch(new RegExp(`^${open.id} +client-a +open +active +Client A, production$`, 'm'));
    expect(out).toMatch(new RegExp(`^${invite.id} +client-b +invite +active +Client B usage$`, 'm'));
    // the first was opened once (by openShare above): its last access is shown
    expect(out).toMatch(
      /^ {4}expires \S+Z; last accessed \S+Z; 0 invitees; locks env=prod, team=web; cost hidden$/m,
    );
    expect(out).toMatch(
      /^ {4}expires 2027-06-30T00:00:00Z; last accessed never; 3 invitees \(cto@client-b\.example, fin@client-b\.example, ops@client-b\.example\); locks none; cost shown$/m,
    );
    expect(out.trim().split('\n')).toHaveLength(6);
    const rows = jsonLines(ok(orgtally('dashboards', 'list', '--account', 'acme', '--json')));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual(shareJson(await row(open.id), { publicUrl: PUBLIC }));
    expect(rows[1]).toEqual(shareJson(await row(invite.id), { publicUrl: PUBLIC }));
    for (const r of rows) expect(r).not.toHaveProperty('token');
    const a = jsonLines(
      ok(orgtally('dashboards', 'list', '--account', 'acme', '--org', 'client-a', '--json')),
    );
    expect(a.map((r) => r.id)).toEqual([open.id]);
    fails(
      orgtally('dashboards', 'list', '--account', 'acme', '--org', 'nowhere'),
      /no org "nowhere" in account acme/,
    );
  });

  it('pause closes the link, again says so without writing; resume (by token) opens it again', async () => {
    expect(ok(orgtally('dashboards', 'pause', open.id, '--account', 'acme'))).toBe(
      `shared dashboard ${open.id} ("Client A, production", org client-a) paused: its link opens nothing until it is resumed\n`,
    );
    expect((await row(open.id)).state).toBe('paused');
    expect(await openShare(db, open.token)).toBeUndefined();
    const before = await writes();
    expect(ok(orgtally('dashboards', 'pause', open.id, '--account', 'acme'))).toMatch(
      / was paused already\n$/,
    );
    expect(await writes()).toEqual(before);
    expect(ok(orgtally('dashboards', 'list', '--account', 'acme'))).toMatch(
      new RegExp(`^${open.id} +client-a +open +paused `, 'm'),
    );
    expect(ok(orgtally('dashboards', 'resume', open.token, '--account', 'acme'))).toMatch(
      / resumed: its link opens the dashboard again\n$/,
    );
    expect((await row(open.id)).state).toBe('active');
    expect(await openShare(db, open.token)).toMatchObject({ id: open.id });
  });

  it('rotate: a new token; the old one opens nothing; --json is shareJson of the row with the new token', async () => {
    const r = orgtally('dashboards', 'rotate', open.id, '--account', 'acme', '--json');
    expect([r.status, r.stderr]).toEqual([0, '']);
    const printed = JSON.parse(r.stdout);
    expect(printed.token).toMatch(/^ots_[\w-]{43}$/);
    expect(printed.token).not.toBe(open.token);
    expect(printed).toEqual(shareJson(await row(open.id), { publicUrl: PUBLIC, token: printed.token }));
    expect(await openShare(db, open.token)).toBeUndefined();
    expect(await openShare(db, printed.token)).toMatchObject({ id: open.id });
    // the old token no longer addresses the share either; the new one does, and prints a link once more
    fails(
      orgtally('dashboards', 'rotate', open.token, '--account', 'acme'),
      /no shared dashboard "ots_.{4}…" in account acme \(dashboards list --account acme\)/,
    );
    const out = ok(orgtally('dashboards', 'rotate', printed.token, '--account', 'acme'));
    const link = LINK.exec(out);
    expect(link?.[1]).toBe(`${PUBLIC}/shared/${link?.[2]}`);
    expect(out).toMatch(/shown only this once/);
    expect(await openShare(db, printed.token)).toBeUndefined();
    open = { id: open.id, token: link?.[2] as string };
    expect(await openShare(db, open.token)).toMatchObject({ id: open.id });
  });

  it('revoke: the link opens nothing, the list says revoked, and the share is gone for the other verbs', async () => {
    expect(ok(orgtally('dashboards', 'revoke', open.id, '--account', 'acme'))).toBe(
      `shared dashboard ${open.id} ("Client A, production", org client-a) revoked: its link opens nothing\n`,
    );
    const s = await row(open.id);
    expect([s.state, s.revoked_at === null]).toEqual(['revoked', false]);
    expect(await openShare(db, open.token)).toBeUndefined();
    const out = ok(orgtally('dashboards', 'list', '--account', 'acme'));
    expect(out).toMatch(new RegExp(`^${open.id} +client-a +open +revoked `, 'm'));
    expect(out).toMatch(/; locks env=prod, team=web; cost hidden; revoked \S+Z$/m);
    for (const verb of ['revoke', 'pause', 'resume', 'rotate'])
      fails(
        orgtally('dashboards', verb, open.id, '--account', 'acme'),
        new RegExp(`no shared dashboard "${open.id}" in account acme \\(dashboards list --account acme\\)`),
      );
  });

  it('an unknown share, of any form, is a one-line not-found error; a token is never echoed whole', () => {
    const unknown = randomUUID();
    fails(
      orgtally('dashboards', 'pause', unknown, '--account', 'acme'),
      new RegExp(`no shared dashboard "${unknown}" in account acme`),
    );
    const token = `ots_${'A'.repeat(43)}`;
    const r = orgtally('dashboards', 'revoke', token, '--account', 'acme');
    fails(r, /no shared dashboard "ots_AAAA…" in account acme/);
    expect(r.stderr).not.toContain(token);
    fails(orgtally('dashboards', 'resume', 'nope', '--account', 'acme'), /no shared dashboard "nope"/);
    fails(orgtally('dashboards', 'revoke', invite.id, '--account', 'nope'), /no account "nope"/);
    const typo = orgtally('dashboards', 'rotate', invite.id, '--account', 'acme', '--jsn');
    expect(typo.stderr).toBe("error: unknown option '--jsn'\n(Did you mean --json?)\n");
    expect(typo.status).toBe(1);
    // commander checks required options first: a typo'd --account is reported as a missing one
    fails(
      orgtally('dashboards', 'pause', invite.id, '--acount', 'acme'),
      /^error: required option '--account <id>' not specified\n$/,
    );
  });

  it('every change is in the audit log, as cli:<os user>', async () => {
    const rows = await db('audit_log')
      .where('action', 'like', 'share.%')
      .orderBy('id')
      .select('action', 'actor', 'target');
    expect(rows.map((r) => [r.action, r.actor, r.target === `share:${open.id}`])).toEqual([
      ['share.create', ACTOR, true],
      ['share.create', ACTOR, false],
      ['share.create', ACTOR, false],
      ['share.pause', ACTOR, true],
      ['share.resume', ACTOR, true],
      ['share.rotate', ACTOR, true],
      ['share.rotate', ACTOR, true],
      ['share.revoke', ACTOR, true],
    ]);
  });

  it('help marks the required options and shows an example', () => {
    const h = ok(orgtally('dashboards', 'share', '--help'));
    expect(h).toMatch(/--account <id> +account id \(required\)/);
    expect(h).toMatch(/Examples:\n {2}\$ orgtally dashboards share --account acme --org client-a/);
  });
});
