import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Knex } from 'knex';
import { simpleParser } from 'mailparser';
import { PROJECT_ROOT } from '../../infra/config';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import { cloneTestDatabase } from '../support/db';
import { applyExample } from '../support/fixtures';

/** `users invite` and `users login-link` through the real CLI: the links they print, and the invitation mail. */
let db: Knex;
let url: string;
let drop: () => Promise<void>;
let sink: MailSink;
beforeAll(async () => {
  ({ db, url, drop } = await cloneTestDatabase());
  await applyExample(db);
  sink = await startMailSink();
});
afterAll(async () => {
  await sink?.close();
  await drop();
});

const BIN = path.join(PROJECT_ROOT, 'bin', 'orgtally');
function orgtally(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: url, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('orgtally users invite / login-link', () => {
  it('adds the user, prints a one-time link and mails it once through the ledger', async () => {
    const r = await orgtally(
      { SMTP_URL: sink.url, ORGTALLY_PUBLIC_URL: 'https://usage.acme.example/' },
      'users',
      'invite',
      '--account',
      'acme',
      '--email',
      'New.Admin@Client-A.example',
      '--org',
      'client-a',
      '--role',
      'admin',
      '--next',
      '/usage?month=2026-10',
    );
    expect([r.status, r.stderr]).toEqual([0, '']);
    const link = /^(https:\/\/usage\.acme\.example\/invite\/otl_[\w-]{43})$/m.exec(r.stdout)?.[1];
    expect(link).toBeDefined();
    expect(r.stdout).toContain('mailed to new.admin@client-a.example');
    const mails = sink.messages.filter((m) => m.to.includes('new.admin@client-a.example'));
    expect(mails).toHaveLength(1);
    const mail = await simpleParser(mails[0]!.raw);
    expect(mail.subject).toBe("[orgtally] You are invited to Acme MSP's usage console");
    expect(mail.text).toContain(link);
    const ledger = await db('deliveries')
      .where({ kind: 'invitation' })
      .select('status', 'recipient', 'reference');
    expect(ledger).toEqual([
      expect.objectContaining({ status: 'sent', recipient: 'new.admin@client-a.example' }),
    ]);
    // The ledger keeps the link's id, never its token.
    expect(JSON.stringify(ledger)).not.toContain('otl_');
    const user = await db('users').where({ email: 'new.admin@client-a.example' }).first('id');
    expect(user).toBeDefined();
  });

  it('prints a sign-in link that lands on --next, and refuses a --next off the console', async () => {
    const r = await orgtally(
      {},
      'users',
      'login-link',
      '--account',
      'acme',
      '--email',
      'new.admin@client-a.example',
      '--next',
      '/cost',
    );
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^http:\/\/127\.0\.0\.1:8080\/login\/otl_[\w-]{43}$/m);
    const row = await db('login_tokens').where({ kind: 'login' }).first('next_path', 'expires_at');
    expect(row.next_path).toBe('/cost');

    const bad = await orgtally(
      {},
      'users',
      'login-link',
      '--account',
      'acme',
      '--email',
      'new.admin@client-a.example',
      '--next',
      '//evil.example',
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'orgtally: --next "//evil.example" is not a path of the console; give one such as /usage or /cost?month=2026-10',
    );
    const nobody = await orgtally(
      {},
      'users',
      'login-link',
      '--account',
      'acme',
      '--email',
      'nobody@acme.example',
    );
    expect(nobody.status).toBe(1);
    expect(nobody.stderr).toContain(
      'no user nobody@acme.example in account acme (add one first: orgtally users add)',
    );
  });
});
