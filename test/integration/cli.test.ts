import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Knex } from 'knex';
import { PROJECT_ROOT } from '../../infra/config';
import { cloneTestDatabase } from '../support/db';
import { count, EXAMPLE_SPEC_FILE, rec, tempDir, writeFile } from '../support/fixtures';

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
});
