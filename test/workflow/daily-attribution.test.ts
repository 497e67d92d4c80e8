import { attributionRows } from '../../db/attribution-report';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Knex } from 'knex';
import fs from 'node:fs';
import path from 'node:path';
import { ingestFile } from '../../activities/ingest-file';
import { applyAccountSpec } from '../../db/accounts';
import type { DailyAttributionResult } from '../../workflows/daily-attribution';
import { cloneTestDatabase } from '../support/db';
import { applyExample, parseSpec, rec, tempDir, TEST_AS_OF, writeFile } from '../support/fixtures';
import { testClient, testWorker } from '../support/temporal';

let db: Knex;
let drop: () => Promise<void>;
let client: Client;
let closeClient: () => Promise<void>;
let outputDir: string;
let files: string;

beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  await applyExample(db);
  ({ client, close: closeClient } = await testClient());
  outputDir = tempDir('out');
  files = tempDir('facts');
});
afterAll(async () => {
  await closeClient();
  await drop();
});

const load = (name: string, lines: string[]) =>
  ingestFile(db, {
    path: writeFile(files, name, lines),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
  });

async function attribute(accountId: string, day: string, workflowId = `attribution/${accountId}/${day}`) {
  const { worker, taskQueue, close } = await testWorker(db, { OUTPUT_DIR: outputDir });
  try {
    return await worker.runUntil(
      client.workflow.execute('dailyAttribution', { taskQueue, workflowId, args: [{ accountId, day }] }),
    );
  } finally {
    await close();
  }
}

const fileOf = (accountId: string, product: string, day: string) =>
  path.join(outputDir, accountId, 'attribution', `daily_${product}_${day}.tsv`);

/** The day's attributed hourly rows as readers see them (the facts through the day's cell dictionary). */
async function rowsOf(accountId: string, day: string) {
  return (await attributionRows(db, { accountId, day }))?.rows;
}

describe('dailyAttribution on a real Temporal server', () => {
  const D = '2026-11-10';
  beforeAll(async () => {
    await load('day.ndjson', [
      rec(`${D}T10:00:00Z`, 'client-a', 'infra_hosts', 2, ['team:web', 'env:prod', 'service:api']),
      rec(`${D}T10:15:00Z`, 'client-a', 'infra_hosts', 3, ['team:web', 'team:mobile', 'env:prod']),
      rec(`${D}T10:00:00Z`, 'client-a', 'infra_hosts', '1.5', []),
      rec(`${D}T10:00:00Z`, 'client-a', 'infra_hosts', '0.25', ['team:', 'env:prod']),
      rec(`${D}T11:00:00Z`, 'client-a', 'infra_hosts', 4, ['team:web', 'env:prod', 'service:api']),
      rec(`${D}T11:59:59Z`, 'client-a', 'infra_hosts', 1, ['service:api', 'env:prod', 'team:web']),
      rec(`${D}T10:00:00Z`, 'client-b', 'infra_hosts', 7, ['env:dev', 'region:eu']),
      rec(`${D}T23:00:00Z`, 'trial-x', 'infra_hosts', 1),
      rec(`${D}T10:00:00Z`, 'client-a-eu', 'apm_hosts', '2.000', ['team:web']),
      rec('2026-11-11T00:00:00Z', 'client-a', 'infra_hosts', 100, []),
      rec('2026-11-09T23:00:00Z', 'client-a', 'infra_hosts', 100, []),
    ]);
  });

  it('writes exactly the Datadog TSV: untagged, <empty>, multi-value and normal cells', async () => {
    const r = await attribute('acme', D);
    expect(r.attribution).toMatchObject({
      hours: 24,
      facts: 9,
      hourlyRows: 8,
      tagKeys: ['team', 'env', 'service'],
    });
    expect(fs.readFileSync(fileOf('acme', 'infra_hosts', D), 'utf8')).toBe(
      [
        'public_id\torg_name\tformatted_timestamp\tteam\tenv\tservice\ttotal_usage',
        'client-a\tClient A\t2026-11-10 10:00:00\t<empty>\tprod\t\t0.25',
        'client-a\tClient A\t2026-11-10 10:00:00\t\t\t\t1.5',
        'client-a\tClient A\t2026-11-10 10:00:00\tmobile|web\tprod\t\t3',
        'client-a\tClient A\t2026-11-10 10:00:00\tweb\tprod\tapi\t2',
        'client-a\tClient A\t2026-11-10 11:00:00\tweb\tprod\tapi\t5',
        'client-b\tClient B\t2026-11-10 10:00:00\t\tdev\t\t7',
        'trial-x\tTrial X\t2026-11-10 23:00:00\t\t\t\t1',
        '',
      ].join('\n'),
    );
    expect(fs.readFileSync(fileOf('acme', 'apm_hosts', D), 'utf8')).toBe(
      'public_id\torg_name\tformatted_timestamp\tteam\tenv\tservice\ttotal_usage\n' +
        'client-a-eu\tClient A EU\t2026-11-10 10:00:00\tweb\t\t\t2\n',
    );
    // Every product of the account gets a file; one without usage has the header only.
    expect(fs.readFileSync(fileOf('acme', 'dbm_hosts', D), 'utf8')).toBe(
      'public_id\torg_name\tformatted_timestamp\tteam\tenv\tservice\ttotal_usage\n',
    );
    expect(r.files).toHaveLength(10);
    const run = await db('attribution_runs').where({ account_id: 'acme', day: D }).first();
    expect(run.reconciled_at).not.toBeNull();
    expect(run.files.find((f: { product: string }) => f.product === 'infra_hosts').rows).toBe(7);
    if (process.env.ORGTALLY_RECORD_HISTORY) {
      const history = await client.workflow.getHandle(`attribution/acme/${D}`).fetchHistory();
      fs.writeFileSync(
        path.join(__dirname, '../replay/histories/daily-attribution.json'),
        historyToJSON(history),
      );
    }
  });

  it('a day attributed twice gives byte-identical files and the same rows', async () => {
    const first = await attribute('acme', D);
    const rows = await rowsOf('acme', D);
    const bytes = fs.readFileSync(fileOf('acme', 'infra_hosts', D));
    const second = await attribute('acme', D);
    expect(second.files.map((f: { sha256: string }) => f.sha256)).toEqual(
      first.files.map((f: { sha256: string }) => f.sha256),
    );
    expect(fs.readFileSync(fileOf('acme', 'infra_hosts', D)).equals(bytes)).toBe(true);
    expect(await rowsOf('acme', D)).toEqual(rows);
  });

  // A task held by the stopped worker is retried after the activity heartbeat timeout (20 s).
  it('a worker stopped in the middle of a run: a new worker finishes with the same result', async () => {
    const reference = await attribute('acme', D);
    await db('attribution_runs').where({ account_id: 'acme', day: D }).delete();
    fs.rmSync(path.join(outputDir, 'acme'), { recursive: true });
    const workflowId = `attribution/acme/${D}/interrupted`;
    const first = await testWorker(db, { OUTPUT_DIR: outputDir });
    const handle = await client.workflow.start('dailyAttribution', {
      taskQueue: first.taskQueue,
      workflowId,
      args: [{ accountId: 'acme', day: D }],
    });
    // Stop the first worker as soon as the attribution step has committed: export and reconcile are left over.
    await first.worker.runUntil(async () => {
      for (let i = 0; i < 200; i++) {
        if (await db('attribution_runs').where({ account_id: 'acme', day: D }).first()) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('attribution never committed');
    });
    await first.close();
    const { worker, close } = await testWorker(db, {
      OUTPUT_DIR: outputDir,
      TEMPORAL_TASK_QUEUE: first.taskQueue,
    });
    let result: DailyAttributionResult;
    try {
      result = await worker.runUntil(handle.result());
    } finally {
      await close();
    }
    expect(result.files.map((f: { sha256: string }) => f.sha256)).toEqual(
      reference.files.map((f: { sha256: string }) => f.sha256),
    );
    expect(result.attribution.hourlyRows).toBe(reference.attribution.hourlyRows);
  }, 120_000);

  it('a non-UTC account covers exactly its local day, 23 or 25 hours on DST changes', async () => {
    await applyAccountSpec(
      db,
      parseSpec({
        account: { id: 'nyc', name: 'NYC MSP', timezone: 'America/New_York' },
        orgs: [
          { id: 'nyc', name: 'NYC MSP' },
          { id: 'nyc-client', name: 'NYC Client', parent: 'nyc' },
        ],
        products: [{ code: 'infra_hosts', unit: 'host', aggregation: 'p99' }],
        attribution: { tag_keys: ['team'] },
      }),
      { asOfMs: TEST_AS_OF },
    );
    const lines: string[] = [];
    for (const [from, to] of [
      ['2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z'],
      ['2026-10-31T00:00:00Z', '2026-11-04T00:00:00Z'],
    ]) {
      for (let h = Date.parse(from as string); h < Date.parse(to as string); h += 3_600_000) {
        lines.push(rec(new Date(h).toISOString(), 'nyc-client', 'infra_hosts', 1, ['team:ops']));
      }
    }
    await load('nyc.ndjson', lines);
    const cases = [
      ['2026-03-08', 23, '2026-03-08 05:00:00', '2026-03-09 03:00:00'],
      ['2026-11-01', 25, '2026-11-01 04:00:00', '2026-11-02 04:00:00'],
      ['2026-11-02', 24, '2026-11-02 05:00:00', '2026-11-03 04:00:00'],
    ] as const;
    for (const [day, hours, first, last] of cases) {
      const r = await attribute('nyc', day);
      expect(r.attribution).toMatchObject({ hours, facts: hours, hourlyRows: hours });
      const body = fs
        .readFileSync(fileOf('nyc', 'infra_hosts', day), 'utf8')
        .trimEnd()
        .split('\n')
        .slice(1);
      expect(body).toHaveLength(hours);
      expect(body[0]).toBe(`nyc-client\tNYC Client\t${first}\tops\t1`);
      expect(body[body.length - 1]).toBe(`nyc-client\tNYC Client\t${last}\tops\t1`);
    }
  });
});
