import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { applyAccountSpec } from '../db/accounts';
import { attributeDay } from '../db/attribution';
import type { ExportedFile } from '../db/attribution-files';
import { sheetCellSql } from '../db/sql';
import { benchSpec } from './ingest';
import { attributionTagSets } from './tag-sets';
import { benchLine, timeIt, type BenchLine } from './lib';

/** One day of one account: `orgs` × `products` × 24 hours × `tagSets` facts. */
export interface AttributionScale {
  orgs: number;
  products: number;
  tagSets: number;
}

export interface AttributionData {
  accountId: string;
  day: string;
  tagKeys: string[];
  facts: number;
  /** Hourly rows attribution must produce: two of the tag sets differ only by a tag that is not a key. */
  hourlyRows: number;
}

const ACCOUNT = 'bench-attr';
const DAY = '2026-11-01';

/**
 * Loads one day of facts for a separate account straight into Postgres (set-based, not through ingest): one fake
 * batch, the tag sets in the dictionary (hashed like ingest does), then a generate_series INSERT. Values have
 * 3 decimals, are deterministic, and the first 5% of orgs are 50× larger. Previous bench data is truncated.
 */
export async function loadAttributionData(
  db: Knex,
  scale: AttributionScale,
  log: (s: string) => void,
): Promise<AttributionData> {
  await db.raw(
    `TRUNCATE usage_facts, ingest_batches, attribution_cells, attribution_daily, attribution_totals,
       attribution_runs, attribution_pending CASCADE`,
  );
  const spec = benchSpec(scale.orgs, scale.products, { accountId: ACCOUNT, orgPrefix: 'ba-org' });
  await applyAccountSpec(db, spec, { asOfMs: Date.now() });
  const sets = attributionTagSets(scale.tagSets);
  const facts = scale.orgs * scale.products * 24 * scale.tagSets;
  const t0 = Date.now();
  const [batch] = await db('ingest_batches')
    .insert({
      batch_key: 'bench-attribution',
      source: 'bench',
      format: 'ndjson',
      records_read: facts,
      accepted: facts,
      as_of: db.fn.now(),
    })
    .returning('id');
  const entries = sets.map((t, i) => ({ i, t, h: createHash('sha256').update(t.join('\n')).digest('hex') }));
  await db.raw(
    `INSERT INTO tag_sets (tags_hash, tags)
     SELECT e->>'h', ARRAY(SELECT jsonb_array_elements_text(e->'t')) FROM jsonb_array_elements(?::jsonb) e
     ON CONFLICT (tags_hash) DO NOTHING`,
    [JSON.stringify(entries)],
  );
  await db.raw(
    `WITH o AS (SELECT id, split_part(public_id, '-', 3)::int AS i FROM orgs
                 WHERE account_id = :account AND public_id <> :account),
          p AS (SELECT id, split_part(code, '_', 2)::int AS i FROM products WHERE account_id = :account),
          t AS (SELECT s.id, (e->>'i')::int AS i FROM jsonb_array_elements(:entries::jsonb) e
                  JOIN tag_sets s ON s.tags_hash = e->>'h')
     INSERT INTO usage_facts (batch_id, line, org_id, product_id, hour, tag_set_id, value)
     SELECT :batch, ((h * :orgs + o.i) * :products + p.i) * :tagSets + t.i + 1, o.id, p.id,
            (CAST(:day AS date))::timestamp AT TIME ZONE 'UTC' + h * interval '1 hour', t.id,
            (((o.i * 7919 + p.i * 104729 + h * 1299709 + t.i * 15485863)::bigint * 2654435761) % 1000003)::numeric
              * 0.001 * CASE WHEN o.i < :orgs / 20 THEN 50 ELSE 1 END
       FROM generate_series(0, 23) h, o, p, t
      ORDER BY h, o.i`,
    {
      account: ACCOUNT,
      entries: JSON.stringify(entries),
      batch: (batch as { id: string }).id,
      orgs: scale.orgs,
      products: scale.products,
      tagSets: scale.tagSets,
      day: DAY,
    },
  );
  await db.raw('VACUUM ANALYZE usage_facts');
  await db.raw('ANALYZE orgs, products, tag_sets');
  const { rows } = await db.raw(`SELECT count(*)::int AS n FROM usage_facts`);
  if (rows[0].n !== facts) throw new Error(`loaded ${rows[0].n} facts, expected ${facts}`);
  log(
    `attribution data: ${facts.toLocaleString('en-US')} facts (${scale.orgs} orgs × ${scale.products} products × 24 h × ${scale.tagSets} tag sets) for ${ACCOUNT} ${DAY}, loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return {
    accountId: ACCOUNT,
    day: DAY,
    tagKeys: spec.attribution.tag_keys,
    facts,
    hourlyRows: scale.orgs * scale.products * 24 * (scale.tagSets - 1),
  };
}

/** sha256 and size of files read one after another, each without its first line when `skipHeader`. */
async function hashFiles(files: string[], skipHeader: boolean): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const file of files) {
    let skipping = skipHeader;
    for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
      let c = chunk;
      if (skipping) {
        const nl = c.indexOf(10);
        if (nl < 0) continue;
        c = c.subarray(nl + 1);
        skipping = false;
      }
      hash.update(c);
      bytes += c.length;
    }
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * The task's floor, as a user would write it by hand for the same output: the cells of every tag set (their own
 * expression, MATERIALIZED so it runs once per tag set, not per fact), one GROUP BY of the day's facts joined to
 * them into a table, and one COPY TO of that table's rows in the files' order (product, public_id, hour, cells),
 * all products streamed to one file. No checks, no daily rows, no run record.
 */
const FLOOR_TABLE_SQL = `
  CREATE TEMP TABLE floor_rows AS
  WITH cells AS MATERIALIZED (
    SELECT t.id,
           ARRAY(SELECT (SELECT string_agg(CASE v WHEN '' THEN '<empty>' ELSE v END, '|' ORDER BY v)
                           FROM unnest(t.tags) AS tag, substr(tag, length(k) + 2) AS v
                          WHERE starts_with(tag, k || ':'))
                   FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS k(k, ord)
                  ORDER BY ord) AS cells
      FROM tag_sets t
  )
  SELECT f.org_id, f.product_id, f.hour, c.cells, sum(f.value) AS total
    FROM usage_facts f JOIN cells c ON c.id = f.tag_set_id
   WHERE f.hour >= :start AND f.hour < :end
     AND f.org_id IN (SELECT o.id FROM orgs o WHERE o.account_id = :account)
   GROUP BY f.org_id, f.product_id, f.hour, c.cells`;

const floorCopySql = (keys: number) => {
  const cells = Array.from({ length: keys }, (_, i) => sheetCellSql(`r.cells[${i + 1}]`)).join(', ');
  return `COPY (
    SELECT o.public_id, ${sheetCellSql('o.name')}, to_char(r.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:00:00'),
           ${cells ? `${cells},` : ''} trim_scale(r.total)
      FROM floor_rows r JOIN orgs o ON o.id = r.org_id JOIN products p ON p.id = r.product_id
     ORDER BY p.code COLLATE "C", o.public_id COLLATE "C", r.hour, r.cells::text COLLATE "C"
  ) TO STDOUT WITH (FORMAT text, NULL '')`;
};

async function dayBounds(db: Knex, data: AttributionData) {
  const { rows } = await db.raw(
    `SELECT (CAST(:day AS date))::timestamp AT TIME ZONE a.timezone AS start,
            (CAST(:day AS date) + 1)::timestamp AT TIME ZONE a.timezone AS end
       FROM accounts a WHERE a.id = :account`,
    { day: data.day, account: data.accountId },
  );
  return rows[0] as { start: Date; end: Date };
}

async function runFloor(db: Knex, data: AttributionData, file: string): Promise<void> {
  const params = { account: data.accountId, keys: data.tagKeys, ...(await dayBounds(db, data)) };
  await db.transaction(async (trx) => {
    await trx.raw('SET LOCAL jit = off');
    await trx.raw(FLOOR_TABLE_SQL, params);
    const conn = (await trx.client.acquireConnection()) as PoolClient;
    await pipeline(conn.query(copyTo(floorCopySql(data.tagKeys.length))), fs.createWriteStream(file));
    await trx.raw('DROP TABLE floor_rows');
  });
}

/**
 * Daily attribution as the task: from a day's facts to its TSV files. Figure: attributeDay given an output folder
 * (the day's cell dictionary, daily rows and totals, the hourly rows checked against the facts, the files written,
 * read back and checked, the run record: what the dailyAttribution workflow's one activity does). Floor:
 * FLOOR_TABLE_SQL + its COPY. After every run the floor's bytes must equal the files' bodies (headers removed)
 * concatenated in product order, or the line fails. rows = facts read.
 */
export async function benchAttribution(
  db: Knex,
  data: AttributionData,
  opts: { runs: number; workDir: string; log: (s: string) => void },
): Promise<BenchLine> {
  const outputDir = path.join(opts.workDir, 'attribution');
  const floorFile = path.join(opts.workDir, `attribution-floor-${data.day}.tsv`);
  const runs: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    await db.raw('TRUNCATE attribution_cells, attribution_daily, attribution_totals, attribution_runs');
    await db.raw('CHECKPOINT');
    fs.rmSync(floorFile, { force: true });
    floors.push(await timeIt(() => runFloor(db, data, floorFile)));
    await db.raw('CHECKPOINT');
    fs.rmSync(outputDir, { recursive: true, force: true });
    let files: ExportedFile[] = [];
    runs.push(
      await timeIt(async () => {
        const r = await attributeDay(db, { accountId: data.accountId, day: data.day }, { outputDir });
        if (r.facts !== data.facts || r.hourlyRows !== data.hourlyRows) {
          throw new Error(`attributeDay read ${r.facts} facts, found ${r.hourlyRows} hourly rows`);
        }
        files = r.files ?? [];
      }),
    );
    // Files come in product-code order (C collation), the floor's first sort key.
    const bodies = await hashFiles(
      files.map((f) => f.file),
      true,
    );
    const raw = await hashFiles([floorFile], false);
    if (bodies.sha256 !== raw.sha256) {
      throw new Error(
        `floor differs from attributeDay: ${raw.bytes} bytes ${raw.sha256} ≠ ${bodies.bytes} bytes ${bodies.sha256}`,
      );
    }
    opts.log(
      `  run ${i + 1}: attributeDay with files ${runs[i]?.toFixed(0)} ms (${files.length} files), GROUP BY + COPY TO ${floors[i]?.toFixed(0)} ms (same ${raw.bytes} bytes: sha256 ${raw.sha256.slice(0, 12)})`,
    );
  }
  return benchLine('attribution (facts → daily TSV files)', data.facts, runs, floors);
}

/**
 * The reference a user would compare with: DuckDB (in process, 2 threads) over the same rows exported from
 * Postgres to CSV — the day's facts and each tag set's cells (loading them is timed apart and printed, not
 * counted) — grouping the facts by org, product, hour and cells and writing the rows in the files' order to one
 * TSV. Figure: attributeDay with files (the attribution line's median); floor: DuckDB. Its rows and Σ must equal
 * attribution's totals, or the line fails.
 */
export async function benchDuckdb(
  db: Knex,
  data: AttributionData,
  attribution: BenchLine,
  opts: { runs: number; workDir: string; log: (s: string) => void },
): Promise<BenchLine> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const dir = path.join(opts.workDir, 'duckdb');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const bounds = await dayBounds(db, data);
  const conn = (await db.client.acquireConnection()) as PoolClient;
  const lit = (v: string) => conn.escapeLiteral(v);
  const t0 = Date.now();
  const exportCsv = async (sql: string, name: string) =>
    pipeline(
      conn.query(copyTo(`COPY (${sql}) TO STDOUT WITH (FORMAT csv, HEADER true)`)),
      fs.createWriteStream(path.join(dir, name)),
    );
  try {
    await exportCsv(
      `SELECT f.org_id, f.product_id, f.hour AT TIME ZONE 'UTC' AS hour, f.tag_set_id, f.value FROM usage_facts f
        WHERE f.hour >= ${lit(bounds.start.toISOString())} AND f.hour < ${lit(bounds.end.toISOString())}`,
      'facts.csv',
    );
    await exportCsv(
      `SELECT t.id AS tag_set_id, c[1] AS c1, c[2] AS c2, c[3] AS c3
         FROM tag_sets t, attribution_cells_of(t.tags, ${lit(`{${data.tagKeys.join(',')}}`)}::text[]) AS c`,
      'cells.csv',
    );
    await exportCsv(
      `SELECT id, public_id, name FROM orgs WHERE account_id = ${lit(data.accountId)}`,
      'orgs.csv',
    );
    await exportCsv(
      `SELECT id, code FROM products WHERE account_id = ${lit(data.accountId)}`,
      'products.csv',
    );
  } finally {
    await db.client.releaseConnection(conn);
  }
  const exported = Date.now() - t0;
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const duck = await instance.connect();
  const t1 = Date.now();
  const csv = (name: string, types: string) =>
    `read_csv(${`'${path.join(dir, name)}'`}, header = true, columns = {${types}})`;
  await duck.run(
    `CREATE TABLE facts AS SELECT * FROM ${csv('facts.csv', `'org_id': 'INTEGER', 'product_id': 'INTEGER', 'hour': 'TIMESTAMP', 'tag_set_id': 'INTEGER', 'value': 'DECIMAL(18,3)'`)}`,
  );
  await duck.run(
    `CREATE TABLE cells AS SELECT * FROM ${csv('cells.csv', `'tag_set_id': 'INTEGER', 'c1': 'VARCHAR', 'c2': 'VARCHAR', 'c3': 'VARCHAR'`)}`,
  );
  await duck.run(
    `CREATE TABLE orgs AS SELECT * FROM ${csv('orgs.csv', `'id': 'INTEGER', 'public_id': 'VARCHAR', 'name': 'VARCHAR'`)}`,
  );
  await duck.run(
    `CREATE TABLE products AS SELECT * FROM ${csv('products.csv', `'id': 'INTEGER', 'code': 'VARCHAR'`)}`,
  );
  const loaded = Date.now() - t1;
  opts.log(
    `  duckdb: ${data.facts.toLocaleString('en-US')} facts exported from Postgres to CSV in ${exported} ms, loaded in ${loaded} ms (not counted)`,
  );
  const out = path.join(dir, 'hourly.tsv');
  const floors: number[] = [];
  let check = '';
  for (let i = 0; i < opts.runs; i++) {
    fs.rmSync(out, { force: true });
    floors.push(
      await timeIt(() =>
        duck.run(`COPY (
          SELECT o.public_id, o.name, strftime(f.hour, '%Y-%m-%d %H:00:00') AS ts, c.c1, c.c2, c.c3,
                 sum(f.value) AS total
            FROM facts f JOIN cells c USING (tag_set_id) JOIN orgs o ON o.id = f.org_id
            JOIN products p ON p.id = f.product_id
           GROUP BY p.code, o.public_id, o.name, f.hour, c.c1, c.c2, c.c3
           ORDER BY p.code, o.public_id, f.hour, concat_ws(',', c.c1, c.c2, c.c3)
        ) TO '${out}' (HEADER false, DELIMITER '\t')`),
      ),
    );
    const r = await duck.runAndReadAll(
      `SELECT count(*)::VARCHAR AS n, sum(total)::VARCHAR AS total FROM read_csv('${out}', delim = '\t', header = false,
         columns = {'a': 'VARCHAR', 'b': 'VARCHAR', 'ts': 'VARCHAR', 'c1': 'VARCHAR', 'c2': 'VARCHAR', 'c3': 'VARCHAR', 'total': 'DECIMAL(38,3)'})`,
    );
    const [n, total] = r.getRows()[0] as [string, string];
    check = `${n} rows, Σ ${total}`;
    opts.log(`  run ${i + 1}: DuckDB GROUP BY + COPY TO ${floors[i]?.toFixed(0)} ms (${check})`);
  }
  duck.closeSync();
  const { rows } = await db.raw(
    `SELECT sum(hourly_rows)::text AS n, sum(rows_total) AS total FROM attribution_totals WHERE account_id = ? AND day = ?`,
    [data.accountId, data.day],
  );
  const ours = `${rows[0].n} rows, Σ ${Number(rows[0].n) ? rows[0].total : '0'}`;
  const norm = (s: string) => s.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  if (norm(check) !== norm(ours)) throw new Error(`DuckDB differs from attribution: ${check} ≠ ${ours}`);
  const line = benchLine(
    'attribution vs DuckDB (same rows, 2 threads)',
    data.facts,
    attribution.runs,
    floors,
  );
  return { ...line, details: { exported_ms: exported, loaded_ms: loaded } };
}
