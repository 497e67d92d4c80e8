import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Knex } from 'knex';
import fs from 'node:fs';
import path from 'node:path';
import { ingestFile } from '../../activities/ingest-file';
import type { IngestDropFolderInput, IngestDropFolderResult } from '../../workflows/ingest-drop-folder';
import { createDb } from '../../infra/db';
import { cloneTestDatabase } from '../support/db';
import { applyExample, count, factSums, rec, tempDir, TEST_AS_OF, writeFile } from '../support/fixtures';
import { testClient, testWorker } from '../support/temporal';

let db: Knex;
let drop: () => Promise<void>;
let client: Client;
let closeClient: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  await applyExample(db);
  ({ client, close: closeClient } = await testClient());
});
afterAll(async () => {
  await closeClient();
  await drop();
});
beforeEach(async () => db.raw('TRUNCATE ingest_batches, usage_facts CASCADE'));

const H = '2026-11-20T10:00:00Z';
const asOf = new Date(TEST_AS_OF).toISOString();
const listing = (dir: string) =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();

async function runDropFolder(
  dropDir: string,
  workflowIds: string[],
  opts: { db?: Knex; retry?: IngestDropFolderInput['retry'] } = {},
): Promise<IngestDropFolderResult[]> {
  const { worker, taskQueue, close } = await testWorker(opts.db ?? db, { DROP_DIR: dropDir });
  try {
    return await worker.runUntil(
      Promise.all(
        workflowIds.map((workflowId) =>
          client.workflow.execute('ingestDropFolder', {
            taskQueue,
            workflowId,
            args: [{ asOf, ...(opts.retry ? { retry: opts.retry } : {}) }],
          }),
        ),
      ),
    );
  } finally {
    await close();
  }
}

describe('ingestDropFolder on a real Temporal server', () => {
  it('ingests each file, moves it to processed/ or failed/, and reports counts', async () => {
    const dropDir = tempDir('drop');
    writeFile(dropDir, '2026-11-20.ndjson', [
      rec(H, 'client-a', 'infra_hosts', 3, ['env:prod']),
      rec(H, 'nobody', 'infra_hosts', 1),
    ]);
    writeFile(dropDir, 'partner.csv', [
      'timestamp,org,product,value,tags',
      `${H},client-b,infra_hosts,2,"team:core"`,
    ]);
    writeFile(dropDir, 'broken.csv', [`${H},client-b,infra_hosts,2`]); // no header: unreadable as a whole
    writeFile(dropDir, 'notes.txt', ['hello']); // not a usage file
    writeFile(dropDir, 'upload.ndjson.partial', ['{"timestamp":']); // still being written: left alone
    const [result] = await runDropFolder(dropDir, ['test-drop-1']);
    expect(result).toMatchObject({ accepted: 2, quarantined: 1, duplicates: 0, failed: 2 });
    expect(result?.files.map((f) => [f.name, f.outcome])).toEqual([
      ['2026-11-20.ndjson', 'processed'],
      ['broken.csv', 'failed'],
      ['notes.txt', 'failed'],
      ['partner.csv', 'processed'],
    ]);
    expect(listing(dropDir)).toEqual([
      'failed',
      'failed/broken.csv',
      'failed/broken.csv.error.txt',
      'failed/notes.txt',
      'failed/notes.txt.error.txt',
      'processed',
      'processed/2026-11-20.ndjson',
      'processed/partner.csv',
      'upload.ndjson.partial',
    ]);
    expect(fs.readFileSync(path.join(dropDir, 'failed/broken.csv.error.txt'), 'utf8')).toMatch(
      /header row \(line 1\) lacks column/,
    );
    expect(await factSums(db)).toEqual({
      'client-a/infra_hosts/2026-11-20T10': '3',
      'client-b/infra_hosts/2026-11-20T10': '2',
    });
    expect(await count(db, 'quarantine')).toBe(1);

    if (process.env.ORGTALLY_RECORD_HISTORY) {
      const history = await client.workflow.getHandle('test-drop-1').fetchHistory();
      fs.writeFileSync(
        path.join(__dirname, '../replay/histories/ingest-drop-folder.json'),
        historyToJSON(history),
      );
    }
  });

  it('a poisoned file is loaded or quarantined record by record and never stops the files after it', async () => {
    const dropDir = tempDir('drop');
    // Each line of this file once failed the whole COPY (and so the folder, for every file sorted after it).
    writeFile(dropDir, 'a-poison.ndjson', [
      rec(H, 'client-a\u0000', 'infra_hosts', 1),
      rec(H, 'client-a', 'infra_hosts', '9'.repeat(140_000)),
      rec(H, 'client-a', 'infra_hosts', '1e-24'),
      rec(H, 'client-a', 'infra_hosts', 7),
    ]);
    writeFile(dropDir, 'b-quotes.csv', [
      'timestamp,org,product,value,tags',
      `${H},client-b,infra_hosts,1,te""am:a`,
      `${H},client-b,infra_hosts,1,te""am:b`,
      `${H},client-b,infra_hosts,2,team:c`,
    ]);
    writeFile(dropDir, 'c-good.ndjson', [rec(H, 'client-c', 'infra_hosts', 5)]);
    const [result] = await runDropFolder(dropDir, ['test-drop-poison']);
    expect(result?.files.map((f) => [f.name, f.outcome])).toEqual([
      ['a-poison.ndjson', 'processed'],
      ['b-quotes.csv', 'processed'],
      ['c-good.ndjson', 'processed'],
    ]);
    expect(result).toMatchObject({ accepted: 3, quarantined: 5, failed: 0, left: 0 });
    expect(fs.readdirSync(dropDir)).toEqual(['processed']);
  });

  it('a file that cannot be loaded goes to failed/ with the file and line; the next one is loaded', async () => {
    const dropDir = tempDir('drop');
    writeFile(dropDir, 'a-rejected.ndjson', [
      rec(H, 'client-a', 'infra_hosts', 1),
      rec(H, 'client-a', 'infra_hosts', 13),
    ]);
    writeFile(dropDir, 'b-fine.ndjson', [rec(H, 'client-b', 'infra_hosts', 2)]);
    // A deterministic refusal by the database itself (as a constraint violation is): no retry can load it.
    await db.raw('ALTER TABLE usage_facts ADD CONSTRAINT test_no_thirteen CHECK (value <> 13)');
    try {
      const [result] = await runDropFolder(dropDir, ['test-drop-refused']);
      expect(result?.files.map((f) => [f.name, f.outcome])).toEqual([
        ['a-rejected.ndjson', 'failed'],
        ['b-fine.ndjson', 'processed'],
      ]);
    } finally {
      await db.raw('ALTER TABLE usage_facts DROP CONSTRAINT test_no_thirteen');
    }
    const reason = fs.readFileSync(path.join(dropDir, 'failed/a-rejected.ndjson.error.txt'), 'utf8');
    expect(reason).toMatch(
      /a-rejected\.ndjson: the load failed at or before line 2: .*test_no_thirteen.*SQLSTATE 23514/,
    );
    expect(await factSums(db)).toEqual({ 'client-b/infra_hosts/2026-11-20T10': '2' });
  });

  it('files that cannot be loaded for a passing reason stay for the next run; after three the rest wait', async () => {
    const dropDir = tempDir('drop');
    for (const n of ['a', 'b', 'c', 'd'])
      writeFile(dropDir, `${n}.ndjson`, [rec(H, 'client-a', 'infra_hosts', 1)]);
    const away = createDb('postgres://postgres@127.0.0.1:9/nowhere', { max: 1 }); // nothing listens on port 9
    try {
      const [result] = await runDropFolder(dropDir, ['test-drop-away'], {
        db: away,
        retry: { maximumAttempts: 2, initialIntervalMs: 100 },
      });
      expect(result?.files.map((f) => [f.name, f.outcome])).toEqual([
        ['a.ndjson', 'left'],
        ['b.ndjson', 'left'],
        ['c.ndjson', 'left'],
        ['d.ndjson', 'left'],
      ]);
      expect(result?.files[0]).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED/) });
      expect(result?.files[3]).toMatchObject({ error: expect.stringMatching(/^not tried/) });
      expect(result).toMatchObject({ left: 4, failed: 0 });
    } finally {
      await away.destroy();
    }
    expect(fs.readdirSync(dropDir).sort()).toEqual(['a.ndjson', 'b.ndjson', 'c.ndjson', 'd.ndjson']);
  });

  it('two runs at once load every file once', async () => {
    const dropDir = tempDir('drop');
    for (let d = 1; d <= 6; d++) {
      const day = `2026-11-${String(d).padStart(2, '0')}`;
      writeFile(
        dropDir,
        `${day}.ndjson`,
        Array.from({ length: 24 }, (_, h) =>
          rec(`${day}T${String(h).padStart(2, '0')}:00:00Z`, 'client-c', 'containers', '1.5'),
        ),
      );
    }
    const results = await runDropFolder(dropDir, ['test-drop-a', 'test-drop-b']);
    const processed = results.flatMap((r) =>
      r.files.filter((f) => f.outcome === 'processed' && !f.duplicate_batch),
    );
    expect(processed.map((f) => f.name).sort()).toHaveLength(6);
    const { rows } = await db.raw('SELECT count(*)::int AS n, sum(value)::text AS s FROM usage_facts');
    expect(rows[0]).toEqual({ n: 144, s: '216.0' });
    expect(fs.readdirSync(path.join(dropDir, 'processed'))).toHaveLength(6);
    expect(fs.readdirSync(dropDir).sort()).toEqual(['processed']);
  });

  it('after a crash between ingest and move, the next run moves the file without loading it again', async () => {
    const dropDir = tempDir('drop');
    const file = writeFile(dropDir, 'crashed.ndjson', [rec(H, 'client-a', 'apm_hosts', 4)]);
    // The previous run committed the batch, then its worker died before the rename.
    await ingestFile(db, { path: file, format: 'ndjson', asOfMs: TEST_AS_OF, retentionDays: 400 });
    const [result] = await runDropFolder(dropDir, ['test-drop-crash']);
    expect(result).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await factSums(db)).toEqual({ 'client-a/apm_hosts/2026-11-20T10': '4' });
    expect(listing(dropDir)).toEqual(['processed', 'processed/crashed.ndjson']);
  });

  it('the same workflow id twice is one run', async () => {
    const dropDir = tempDir('drop');
    writeFile(dropDir, 'once.ndjson', [rec(H, 'client-b', 'apm_hosts', 1)]);
    const { worker, taskQueue, close } = await testWorker(db, { DROP_DIR: dropDir });
    try {
      await worker.runUntil(async () => {
        const first = await client.workflow.start('ingestDropFolder', {
          taskQueue,
          workflowId: 'test-drop-same',
          args: [{ asOf }],
        });
        await expect(
          client.workflow.start('ingestDropFolder', {
            taskQueue,
            workflowId: 'test-drop-same',
            args: [{ asOf }],
          }),
        ).rejects.toThrow(/already started/i);
        await first.result();
      });
    } finally {
      await close();
    }
    expect(await count(db, 'ingest_batches')).toBe(1);
  });
});
