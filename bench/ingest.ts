import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { ingestFile } from '../activities/ingest-file';
import { applyAccountSpec } from '../db/accounts';
import { validateSpec } from '../domain/spec';
import { HOUR_MS } from '../domain/time';
import { prng, writeRecords, type SampleRecord } from '../scripts/lib/sample-data';
import { benchLine, timeIt, type BenchLine } from './lib';
import { attributionTagSets } from './tag-sets';

/** An account of `orgs` orgs × `products` products. */
export function benchSpec(
  orgs: number,
  products: number,
  { accountId = 'bench', orgPrefix = 'b-org' }: { accountId?: string; orgPrefix?: string } = {},
) {
  const spec = {
    account: { id: accountId, name: 'Bench MSP' },
    orgs: [
      { id: accountId, name: 'Bench MSP' },
      ...Array.from({ length: orgs }, (_, i) => ({
        id: `${orgPrefix}-${i}`,
        name: `Org ${i}`,
        parent: accountId,
      })),
    ],
    products: Array.from({ length: products }, (_, i) => ({
      code: `product_${i}`,
      unit: 'unit',
      aggregation: i % 2 ? 'sum' : 'p99',
    })),
    attribution: { tag_keys: ['team', 'env', 'service'] },
  };
  const v = validateSpec(spec);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.spec;
}

/**
 * Deterministic skewed records: a few large orgs, many small; every org and product in each of the tag sets
 * (attributionTagSets: untagged, multi-value, a key without value, a tag that is not a key, three keys), hour by
 * hour. No two records share an org, product, hour and tag set.
 */
export function* benchRecords(opts: {
  orgs: number;
  products: number;
  tagSets: number;
  hours: number;
  startMs: number;
}) {
  const rand = prng(1);
  const sets = attributionTagSets(opts.tagSets);
  for (let h = 0; h < opts.hours; h++) {
    const timestamp = new Date(opts.startMs + h * HOUR_MS).toISOString();
    for (let o = 0; o < opts.orgs; o++) {
      const size = o < opts.orgs / 20 ? 50 : 1;
      for (let p = 0; p < opts.products; p++) {
        for (let t = 0; t < opts.tagSets; t++) {
          const r: SampleRecord = {
            timestamp,
            org: `b-org-${o}`,
            product: `product_${p}`,
            value: (rand() * size * 10).toFixed(3),
            tags: sets[t] as string[],
          };
          yield r;
        }
      }
    }
  }
}

export interface IngestScale {
  orgs: number;
  products: number;
  tagSets: number;
  hours: number;
}

async function copyIn(db: Knex, sql: string, file: string): Promise<number> {
  return timeIt(async () => {
    const client = (await db.client.acquireConnection()) as PoolClient;
    try {
      await client.query('BEGIN');
      await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), client.query(copyFrom(sql)));
      await client.query('COMMIT');
    } finally {
      await db.client.releaseConnection(client);
    }
  });
}

async function copyOut(db: Knex, sql: string, file: string): Promise<void> {
  const client = (await db.client.acquireConnection()) as PoolClient;
  try {
    await pipeline(client.query(copyTo(sql)), fs.createWriteStream(file));
  } finally {
    await db.client.releaseConnection(client);
  }
}

/**
 * Ingest (the project's path: parse, validate, dictionary, COPY, batch claim) against two floors, each a raw COPY
 * in one transaction of the very rows it produced, from a file: the task's — the facts with integer ids (org,
 * product, hour, tag set, value) into a table keyed by org, product, hour and tag set, what a user would load by
 * hand — and the bench's own — the same rows into usage_facts, with its extra columns and indexes. rows = records.
 */
export async function benchIngest(
  db: Knex,
  opts: IngestScale & { runs: number; workDir: string; log: (s: string) => void },
): Promise<BenchLine[]> {
  const { orgs, products, tagSets, hours } = opts;
  await applyAccountSpec(db, benchSpec(orgs, products), { asOfMs: Date.now() });
  const startMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - (hours + 24) * HOUR_MS;
  const file = path.join(opts.workDir, `ingest-${orgs}x${products}x${tagSets}x${hours}.ndjson`);
  const n = await writeRecords(file, benchRecords({ orgs, products, tagSets, hours, startMs }), 'ndjson');
  opts.log(
    `ingest: ${n.toLocaleString('en-US')} records (${orgs} orgs × ${products} products × ${tagSets} tag sets × ${hours} h), ${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB NDJSON`,
  );
  await db.raw('DROP TABLE IF EXISTS bench_task_facts');
  await db.raw(
    `CREATE TABLE bench_task_facts (org_id integer NOT NULL, product_id integer NOT NULL, hour timestamptz NOT NULL,
       tag_set_id integer NOT NULL, value numeric NOT NULL, PRIMARY KEY (org_id, product_id, hour, tag_set_id))`,
  );
  const copyFile = path.join(opts.workDir, `ingest-${n}.copy`);
  const taskFile = path.join(opts.workDir, `ingest-${n}.task.copy`);
  const runs: number[] = [];
  const own: number[] = [];
  const task: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    await db.raw('TRUNCATE ingest_batches, usage_facts CASCADE');
    await db.raw('CHECKPOINT');
    const ms = await timeIt(async () => {
      const r = await ingestFile(db, {
        path: file,
        format: 'ndjson',
        asOfMs: Date.now(),
        retentionDays: 400,
      });
      if (r.accepted !== n) throw new Error(`accepted ${r.accepted} of ${n}`);
    });
    runs.push(ms);
    await copyOut(db, 'COPY usage_facts TO STDOUT', copyFile);
    await copyOut(
      db,
      'COPY (SELECT org_id, product_id, hour, tag_set_id, value FROM usage_facts) TO STDOUT',
      taskFile,
    );
    const batch = await db('ingest_batches').first();
    if (!batch) throw new Error('no batch');
    await db.raw('TRUNCATE usage_facts');
    await db.raw('CHECKPOINT');
    own.push(await copyIn(db, 'COPY usage_facts FROM STDIN', copyFile));
    await db.raw('TRUNCATE bench_task_facts');
    await db.raw('CHECKPOINT');
    task.push(await copyIn(db, 'COPY bench_task_facts FROM STDIN', taskFile));
    const { rows } = await db.raw('SELECT count(*)::int AS n FROM bench_task_facts');
    if (rows[0].n !== n) throw new Error(`the task floor loaded ${rows[0].n} of ${n} rows`);
    opts.log(
      `  run ${i + 1}: ingest ${ms.toFixed(0)} ms, raw COPY into usage_facts ${own[i]?.toFixed(0)} ms, raw COPY into a keyed table ${task[i]?.toFixed(0)} ms`,
    );
  }
  await db.raw('DROP TABLE bench_task_facts');
  return [
    benchLine('ingest (NDJSON → usage_facts; floor: raw COPY, same table)', n, runs, own),
    benchLine(
      'ingest vs the task (raw COPY into a table keyed by org, product, hour, tag set)',
      n,
      runs,
      task,
    ),
  ];
}
