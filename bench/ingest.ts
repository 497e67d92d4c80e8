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

/** An account of `orgs` orgs × `products` products × `tagSets` tag sets, enough hours for `records` records. */
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

/** Deterministic skewed records: a few large orgs, many small; some untagged and multi-value tag sets. */
export function* benchRecords(opts: {
  orgs: number;
  products: number;
  tagSets: number;
  records: number;
  startMs: number;
}) {
  const rand = prng(1);
  const sets: string[][] = Array.from({ length: opts.tagSets }, (_, i) =>
    i === 0
      ? []
      : i === 1
        ? ['team:a', 'team:b', 'env:prod']
        : [`team:t${i % 4}`, `env:${i % 2 ? 'prod' : 'dev'}`, `service:svc${i}`],
  );
  let n = 0;
  for (let h = 0; n < opts.records; h++) {
    const timestamp = new Date(opts.startMs + h * HOUR_MS).toISOString();
    for (let o = 0; o < opts.orgs && n < opts.records; o++) {
      const size = o < opts.orgs / 20 ? 50 : 1;
      for (let p = 0; p < opts.products && n < opts.records; p++) {
        for (let t = 0; t < opts.tagSets && n < opts.records; t++, n++) {
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

/**
 * Ingest (the project's path: parse, validate, dictionary, COPY, batch claim) against the floor: a raw COPY of
 * the very rows it produced into the same table, with the same indexes.
 */
export async function benchIngest(
  db: Knex,
  opts: { records: number; runs: number; workDir: string; log: (s: string) => void },
): Promise<BenchLine> {
  const orgs = 200,
    products = 10,
    tagSets = 5;
  await applyAccountSpec(db, benchSpec(orgs, products), { asOfMs: Date.now() });
  const hours = Math.ceil(opts.records / (orgs * products * tagSets));
  const startMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - (hours + 24) * HOUR_MS;
  const file = path.join(opts.workDir, `ingest-${opts.records}.ndjson`);
  const n = await writeRecords(
    file,
    benchRecords({ orgs, products, tagSets, records: opts.records, startMs }),
    'ndjson',
  );
  opts.log(
    `ingest: ${n.toLocaleString('en-US')} records, ${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB NDJSON`,
  );
  const copyFile = path.join(opts.workDir, `ingest-${opts.records}.copy`);
  const runs: number[] = [];
  const floors: number[] = [];
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
    {
      const client = (await db.client.acquireConnection()) as PoolClient;
      try {
        await pipeline(client.query(copyTo('COPY usage_facts TO STDOUT')), fs.createWriteStream(copyFile));
      } finally {
        await db.client.releaseConnection(client);
      }
    }
    // Floor: the same rows, already resolved, COPYed into the same (emptied) table in one transaction.
    const batch = await db('ingest_batches').first();
    await db.raw('TRUNCATE usage_facts');
    await db.raw('CHECKPOINT');
    floors.push(
      await timeIt(async () => {
        const client = (await db.client.acquireConnection()) as PoolClient;
        try {
          await client.query('BEGIN');
          await pipeline(
            fs.createReadStream(copyFile, { highWaterMark: 1 << 20 }),
            client.query(copyFrom('COPY usage_facts FROM STDIN')),
          );
          await client.query('COMMIT');
        } finally {
          await db.client.releaseConnection(client);
        }
      }),
    );
    if (!batch) throw new Error('no batch');
    opts.log(`  run ${i + 1}: ingest ${ms.toFixed(0)} ms, raw COPY ${floors[i]?.toFixed(0)} ms`);
  }
  return benchLine('ingest (NDJSON → usage_facts)', n, runs, floors);
}
