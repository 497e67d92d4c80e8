import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Knex } from 'knex';
import { attributeDay } from '../../db/attribution';
import { planDeliveries } from '../../db/deliveries';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { PROJECT_ROOT } from '../../infra/config';
import { cloneTestDatabase } from '../support/db';
import { applyExample, rec, tempDir, writeFile } from '../support/fixtures';

/** Each case found by trying the CLI as a user would: a clear error naming what exists, never a SQL error. */
let db: Knex;
let url: string;
let drop: () => Promise<void>;

function orgtally(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'orgtally'), ...args], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  ({ db, url, drop } = await cloneTestDatabase());
  await applyExample(db);
  const file = writeFile(tempDir('cli-errors'), 'oct.ndjson', [
    rec('2026-10-05T10:00:00Z', 'client-a', 'infra_hosts', 4, ['team:web']),
    rec('2026-10-06T10:00:00Z', 'client-b', 'infra_hosts', 2, []),
  ]);
  expect(orgtally('ingest', file, '--as-of', '2026-11-28T00:00:00Z').status).toBe(0);
  for (const day of (await monthDays(db, 'acme', '2026-10')).toAttribute)
    await attributeDay(db, { accountId: 'acme', day });
  await closeMonth(db, { accountId: 'acme', month: '2026-10', asOf: '2026-11-28T00:00:00Z' });
  // 12 ledger rows: ids 1..12, so that text order (1, 10, 11, 12, 2, …) and numeric order differ
  await planDeliveries(
    db,
    Array.from({ length: 12 }, (_, i) => ({
      dedupeKey: `test/${i}`,
      kind: 'alert' as const,
      accountId: 'acme',
      reference: { eventId: String(i) },
      recipient: 'ops@acme.example',
    })),
    'orgtally.test',
  );
});
afterAll(async () => drop());

const fails = (r: { status: number | null; stderr: string }, message: RegExp) => {
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/SELECT|syntax|\n\s+at /);
  expect(r.status).toBe(1);
};

describe('CLI errors that say what is wrong', () => {
  it('an impossible day', () => {
    fails(
      orgtally('report', 'attribution', '--account', 'acme', '--day', '2026-11-31'),
      /day "2026-11-31" is not a date/,
    );
  });

  it('a month long before any data is not an invented month-to-date', () => {
    fails(
      orgtally('report', 'summary', '--account', 'acme', '--month', '2025-01'),
      /acme has no usage in 2025-01 \(its first usage is of 2026-10-05/,
    );
  });

  it('the current month has not ended (not "run month-end first"); a missing version is named', () => {
    const now = new Date();
    const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    fails(orgtally('report', 'month-end', '--account', 'acme', '--month', month), /has not ended \(it ends /);
    fails(
      orgtally('report', 'month-end', '--account', 'acme', '--month', '2026-10', '--version', '7'),
      /acme 2026-10 has version 1 only; there is no version 7/,
    );
    fails(
      orgtally('report', 'month-end', '--account', 'acme', '--month', '2026-09'),
      /has not been closed: run/,
    );
  });

  it('an unknown org, product, reason or account names what exists', () => {
    fails(
      orgtally('report', 'trends', '--account', 'acme', '--month', '2026-10', '--org', 'nobody'),
      /no org "nobody" in account acme \(orgs: acme, client-a, /,
    );
    fails(
      orgtally('report', 'attribution', '--account', 'acme', '--day', '2026-10-05', '--product', 'warp'),
      /no product "warp" in account acme \(products: apm_hosts, /,
    );
    fails(
      orgtally('quarantine', 'list', '--reason', 'nope'),
      /no quarantine reason "nope" \(reasons: malformed_record, /,
    );
    fails(
      orgtally('report', 'month-end', '--account', 'globex', '--month', '2026-10'),
      /no account "globex" \(accounts: acme\)/,
    );
    fails(
      orgtally('report', 'month-end', '--account', 'acme', '--month', '2026-10', '--rows', 'all'),
      /--rows must be totals, by_org or by_tag, not "all"/,
    );
  });

  it('deliveries newest first by id, as numbers', () => {
    const r = orgtally('deliveries', 'list', '--account', 'acme', '--json');
    const ids = r.stdout
      .trim()
      .split('\n')
      .map((l) => Number(JSON.parse(l).id));
    expect(ids).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('tables fit 120 columns, with org names beside ids; --wide shows every column', () => {
    const byTag = ['report', 'month-end', '--account', 'acme', '--month', '2026-10', '--rows', 'by_tag'];
    const narrow = orgtally(...byTag);
    const lines = narrow.stdout.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(120);
    expect(lines[0]).toMatch(/^org +name +product/);
    expect(narrow.stdout).toContain('Client A');
    const wide = orgtally(...byTag, '--wide');
    expect(wide.stdout.split('\n')[0]).toMatch(/committed_usage .*on_demand_cost .*total_cost/);
  });

  it('help marks required options and shows an example', () => {
    const h = orgtally('report', 'summary', '--help');
    expect(h.stdout).toMatch(/--account <id> +account id \(required\)/);
    expect(h.stdout).toMatch(/Example:\n {2}\$ orgtally report summary --account acme --month/);
  });
});
