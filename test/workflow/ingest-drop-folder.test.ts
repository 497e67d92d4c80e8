import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Knex } from 'knex';
import fs from 'node:fs';
import path from 'node:path';
import { ingestFile } from '../../activities/ingest-file';
import type { IngestDropFolderResult } from '../../workflows/ingest-drop-folder';
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

async function runDropFolder(dropDir: string, workflowIds: string[]): Promise<IngestDropFolderResult[]> {
  const { worker, taskQueue, close } = await testWorker(db, { DROP_DIR: dropDir });
  try {
    return await worker.runUntil(
      Promise.all(
        workflowIds.map((workflowId) =>
          client.workflow.execute('ingestDropFolder', { taskQueue, workflowId, args: [{ asOf }] }),
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
    ]);
    expect(fs.readFileSync(path.join(dropDir, 'failed/broken.csv.error.txt'), 'utf8')).toMatch(
      /header row lacks column/,
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
