import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Knex } from 'knex';
import { PROJECT_ROOT } from '../../infra/config';
import { parse } from 'csv-parse/sync';
import { attributeDay } from '../../db/attribution';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { cloneTestDatabase } from '../support/db';
import { unpricedIn } from '../support/currency';
import { count, EXAMPLE_SPEC_FILE, exampleSpecJson, rec, tempDir, writeFile } from '../support/fixtures';

let db: Knex;
let url: string;
let drop: () => Promise<void>;
beforeAll(async () => ({ db, url, drop } = await cloneTestDatabase()));
afterAll(async () => drop());

/** The real CLI in a child process, against this file's database. */
function orgtally(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'orgtally'), ...args], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the orgtally CLI', () => {
  it('account apply: changes once, then "no changes"', () => {
    const first = orgtally('account', 'apply', EXAMPLE_SPEC_FILE);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('account acme: created');
    const second = orgtally('account', 'apply', EXAMPLE_SPEC_FILE);
    expect([second.status, second.stdout.trim()]).toEqual([0, 'account acme: no changes']);
  });

  it('ingest --json: one object per file, exit 0 with quarantined records, non-zero only for an unreadable file', async () => {
    const dir = tempDir('cli');
    const H = '2026-11-20T10:00:00Z';
    const good = writeFile(dir, 'a.ndjson', [
      rec(H, 'client-a', 'infra_hosts', 2),
      rec(H, 'nobody', 'infra_hosts', 1),
    ]);
    const ok = orgtally('ingest', good, '--json', '--as-of', '2026-11-28T00:00:00Z');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      file: good,
      records_read: 2,
      accepted: 1,
      quarantined: 1,
      duplicate_batch: false,
      quarantined_by_reason: { unknown_org: 1 },
    });
    const again = orgtally('ingest', good, '--json', '--as-of', '2026-11-28T00:00:00Z');
    expect([again.status, JSON.parse(again.stdout).duplicate_batch]).toEqual([0, true]);
    const missing = orgtally('ingest', path.join(dir, 'missing.ndjson'));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/cannot read .*missing\.ndjson/);
    expect(await count(db, 'ingest_batches')).toBe(1);
    const listed = orgtally('quarantine', 'list', '--json');
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).reason),
    ).toEqual(['unknown_org']);
  });

  it('report month-end: one JSON object with decimal strings; CSV parses back to the same numbers', async () => {
    const never = orgtally('report', 'month-end', '--account', 'acme', '--month', '2026-11');
    expect(never.status).not.toBe(0);
    expect(never.stderr).toMatch(/acme 2026-11 has not been closed/);
    for (const day of (await monthDays(db, 'acme', '2026-11')).toAttribute)
      await attributeDay(db, { accountId: 'acme', day });
    await closeMonth(db, { accountId: 'acme', month: '2026-11', asOf: '2026-11-28T00:00:00Z' });
    const json = orgtally(
      'report',
      'month-end',
      '--account',
      'acme',
      '--month',
      '2026-11',
      '--format',
      'json',
    );
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({
      account: 'acme',
      month: '2026-11',
      version: 1,
      status: 'provisional',
      data_complete_through: '2026-11-25T00:00:00.000Z',
    });
    expect(report.totals).toHaveLength(10);
    const org = report.by_org.find((r: { public_id: string }) => r.public_id === 'client-a');
    expect(org).toMatchObject({ usage_type: 'infra_hosts', org_name: 'Client A', total_usage: '0' });
    expect(typeof org.total_cost).toBe('string');
    expect(report.by_tag[0].tags).toEqual({ team: null, env: null, service: null });
    const csv = orgtally('report', 'month-end', '--account', 'acme', '--month', '2026-11', '--format', 'csv');
    const rows = parse(csv.stdout, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.public_id, r.usage_type, r.total_cost, r.percentage_in_account])).toEqual(
      report.by_org.map((r: Record<string, string>) => [
        r.public_id,
        r.usage_type,
        r.total_cost,
        r.percentage_in_account,
      ]),
    );
    const deliveries = orgtally('deliveries', 'list', '--json');
    expect([deliveries.status, deliveries.stdout]).toEqual([0, '']);
  });

  it('report month-end and summary: costs in the account’s currency (EUR), "not priced" for a product without a price', async () => {
    const dir = tempDir('cli-eur');
    const spec = exampleSpecJson();
    const eur = { ...spec, account: { ...(spec.account as object), currency: 'EUR' } };
    const specFile = writeFile(dir, 'eur.json', [JSON.stringify(eur)]);
    expect(orgtally('account', 'apply', specFile).status).toBe(0);
    try {
      // The month closed above, as its rows hold it: which products are priced, and what each costs.
      const unpriced = await unpricedIn(db, 'acme', '2026-11');
      const { rows } = await db.raw(
        `SELECT usage_type, total_cost::text AS total_cost FROM month_end_totals
          WHERE account_id = 'acme' AND month = '2026-11-01' ORDER BY usage_type COLLATE "C"`,
      );
      expect(unpriced.length).toBeGreaterThan(0);
      expect(rows.length).toBeGreaterThan(unpriced.length);
      const args = ['report', 'month-end', '--account', 'acme', '--month', '2026-11'];
      const t = orgtally(...args, '--rows', 'totals');
      expect(t.status).toBe(0);
      const lines = t.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/ cost \(EUR\)$/);
      for (const r of rows as { usage_type: string; total_cost: string }[]) {
        const line = lines.find((l) => l.startsWith(`${r.usage_type} `)) ?? '';
        expect([r.usage_type, line.split(/ {2,}/).at(-1)]).toEqual([
          r.usage_type,
          unpriced.includes(r.usage_type) ? 'not priced' : r.total_cost,
        ]);
      }
      const { rows: sum } = await db.raw(
        `SELECT sum(total_cost)::text AS total FROM month_end_totals WHERE account_id = 'acme' AND month = '2026-11-01'`,
      );
      expect(lines.at(-1)).toBe(
        `total cost (EUR): ${sum[0].total} (excludes not priced: ${unpriced.join(', ')})`,
      );
      expect(orgtally(...args).stdout.split('\n')[0]).toMatch(/ cost \(EUR\)$/);
      const json = JSON.parse(orgtally(...args, '--format', 'json').stdout);
      expect(json.currency).toBe('EUR');
      expect(
        json.totals.map((r: { usage_type: string; priced: boolean }) => [r.usage_type, r.priced]),
      ).toEqual(rows.map((r: { usage_type: string }) => [r.usage_type, !unpriced.includes(r.usage_type)]));
      const csv = parse(orgtally(...args, '--format', 'csv').stdout, { columns: true }) as Record<
        string,
        string
      >[];
      expect(new Set(csv.map((r) => r.currency))).toEqual(new Set(['EUR']));
      expect(csv.length).toBeGreaterThan(0);
      for (const r of csv)
        expect([r.usage_type, r.priced]).toEqual([
          r.usage_type,
          String(!unpriced.includes(r.usage_type as string)),
        ]);
      const summary = ['report', 'summary', '--account', 'acme', '--month', '2026-11'];
      expect(JSON.parse(orgtally(...summary, '--format', 'json').stdout).currency).toBe('EUR');
      const st = orgtally(...summary)
        .stdout.trim()
        .split('\n');
      expect(st[0]).toMatch(/ committed \(EUR\) +on-demand \(EUR\) +cost \(EUR\)$/);
      for (const p of unpriced)
        expect((st.find((l) => l.startsWith(`${p} `)) ?? '').split(/ {2,}/).slice(-3)).toEqual([
          'not priced',
          'not priced',
          'not priced',
        ]);
    } finally {
      expect(orgtally('account', 'apply', EXAMPLE_SPEC_FILE).status).toBe(0);
    }
    expect(orgtally('report', 'month-end', '--account', 'acme', '--month', '2026-11').stdout).toContain(
      'cost (USD)',
    );
  });

  it('ingested text never reaches the terminal as escape sequences', () => {
    const dir = tempDir('cli-esc');
    const file = writeFile(dir, 'esc.ndjson', [
      rec('2026-11-20T10:00:00Z', '\u001b]0;pwned\u0007\u001b[2J', 'infra_hosts', 1),
    ]);
    expect(orgtally('ingest', file, '--as-of', '2026-11-28T00:00:00Z').status).toBe(0);
    const listed = orgtally('quarantine', 'list', '--file', file);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('unknown_org');
    // eslint-disable-next-line no-control-regex
    expect(listed.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(listed.stdout).toContain('\uFFFD]0;pwned');
  });

  it('a file that cannot be loaded: exit 1 naming the file and the line', async () => {
    const dir = tempDir('cli-fail');
    const file = writeFile(dir, 'refused.ndjson', [
      rec('2026-11-20T10:00:00Z', 'client-a', 'infra_hosts', 1),
      rec('2026-11-20T11:00:00Z', 'client-a', 'infra_hosts', 13),
    ]);
    await db.raw('ALTER TABLE usage_facts ADD CONSTRAINT cli_no_thirteen CHECK (value <> 13)');
    try {
      const r = orgtally('ingest', file, '--as-of', '2026-11-28T00:00:00Z');
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/refused\.ndjson: the load failed at or before line 2: .*cli_no_thirteen/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      await db.raw('ALTER TABLE usage_facts DROP CONSTRAINT cli_no_thirteen');
    }
  });

  it('config check hides every secret of a URL', () => {
    const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'orgtally'), 'config', 'check'], {
      env: {
        ...process.env,
        DATABASE_URL:
          'postgres://app:s3cret@db.example:5432/orgtally?password=hunter2&sslpassword=k3y&sslmode=require',
        SMTP_URL: 'smtp://mailer:pa55@smtp.example:587?token=t0k',
      },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    for (const secret of ['s3cret', 'hunter2', 'k3y', 'pa55', 't0k']) expect(r.stdout).not.toContain(secret);
    expect(r.stdout).toContain('sslmode=require');
  });
});
