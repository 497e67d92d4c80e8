import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { applyAccountSpec } from '../db/accounts';
import { attributeDay } from '../db/attribution';
import { exportDay } from '../db/attribution-files';
import { benchSpec } from './ingest';
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
 * The tag sets, in normalized form (sorted): untagged; a multi-value key; a key present without value (and the
 * other keys absent); a set that differs from the next only by a tag that is not an attribution key (both land in
 * the same cells); the rest one value per key.
 */
export function attributionTagSets(n: number): string[][] {
  if (n < 5) throw new Error('attribution bench needs at least 5 tag sets');
  const normal = (i: number) => [`team:t${i % 4}`, `env:${i % 2 ? 'prod' : 'dev'}`, `service:svc${i}`];
  return Array.from({ length: n }, (_, i) =>
    i === 0
      ? []
      : i === 1
        ? ['env:prod', 'team:a', 'team:b']
        : i === 2
          ? ['service:svc2', 'team:']
          : i === 3
            ? [...normal(4), 'region:eu']
            : normal(i),
  ).map((t) => [...t].sort());
}

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
    `TRUNCATE usage_facts, ingest_batches, attribution_hourly, attribution_daily, attribution_totals,
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

/** count, Σ total_usage and an md5 of the ordered rows of the day's attribution_hourly. */
async function hourlyFingerprint(db: Knex, data: AttributionData): Promise<string> {
  const { rows } = await db.raw(
    `SELECT count(*) AS n, coalesce(sum(total_usage), 0) AS total,
            md5(string_agg(md5(concat_ws(E'\\t', org_id, product_id, hour, cells::text, total_usage)), ''
                           ORDER BY org_id, product_id, hour, cells)) AS md5
       FROM attribution_hourly WHERE account_id = ? AND day = ?`,
    [data.accountId, data.day],
  );
  const r = rows[0] as { n: string; total: string; md5: string | null };
  return `${r.n} rows, Σ ${r.total}, md5 ${r.md5}`;
}

/**
 * The floor of attribution: one INSERT … SELECT that groups the day's facts by org, product, hour and the cells of
 * their tag set into attribution_hourly. Two things keep it a floor rather than a strawman: the cells are computed
 * once per tag set (as attributeDay defines them) and kept apart by MATERIALIZED — inlined, Postgres evaluates
 * the ARRAY(…) for every fact row; and the rows are inserted in primary-key order, so the index grows at its right
 * edge — unordered (HashAggregate) output lands on a random leaf of an index larger than shared_buffers for every
 * row (at medium scale: 96 s instead of 54 s).
 */
const FLOOR_SQL = `
  WITH cells AS MATERIALIZED (
    SELECT t.id,
           ARRAY(SELECT (SELECT string_agg(CASE v WHEN '' THEN '<empty>' ELSE v END, '|' ORDER BY v)
                           FROM unnest(t.tags) AS tag, substr(tag, length(k) + 2) AS v
                          WHERE starts_with(tag, k || ':'))
                   FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS k(k, ord)
                  ORDER BY ord) AS cells
      FROM tag_sets t
  )
  INSERT INTO attribution_hourly (account_id, day, org_id, product_id, hour, cells, total_usage)
  SELECT :account, :day, f.org_id, f.product_id, f.hour, c.cells, sum(f.value)
    FROM usage_facts f JOIN cells c ON c.id = f.tag_set_id
   WHERE f.hour >= :start AND f.hour < :end
     AND f.org_id IN (SELECT o.id FROM orgs o WHERE o.account_id = :account)
   GROUP BY f.org_id, f.product_id, f.hour, c.cells
   ORDER BY f.org_id, f.product_id, f.hour, c.cells`;

/**
 * Daily attribution: attributeDay (hourly rows, daily rows, totals check, run record, in one REPEATABLE READ
 * transaction) against the floor, one INSERT … SELECT of the same hourly rows into the same emptied table.
 * Throws unless the floor wrote exactly the rows attributeDay wrote.
 */
export async function benchAttribution(
  db: Knex,
  data: AttributionData,
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine> {
  const { rows: bounds } = await db.raw(
    `SELECT (CAST(:day AS date))::timestamp AT TIME ZONE a.timezone AS start,
            (CAST(:day AS date) + 1)::timestamp AT TIME ZONE a.timezone AS end
       FROM accounts a WHERE a.id = :account`,
    { day: data.day, account: data.accountId },
  );
  const params = { account: data.accountId, day: data.day, keys: data.tagKeys, ...bounds[0] };
  const reset = async () => {
    await db.raw('TRUNCATE attribution_hourly, attribution_daily, attribution_totals, attribution_runs');
    await db.raw('CHECKPOINT');
  };
  const runs: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    await reset();
    floors.push(await timeIt(() => db.raw(FLOOR_SQL, params)));
    const floorRows = await hourlyFingerprint(db, data);
    // attributeDay second: the day stays attributed for the export line.
    await reset();
    runs.push(
      await timeIt(async () => {
        const r = await attributeDay(db, { accountId: data.accountId, day: data.day });
        if (r.facts !== data.facts || r.hourlyRows !== data.hourlyRows) {
          throw new Error(`attributeDay read ${r.facts} facts, wrote ${r.hourlyRows} hourly rows`);
        }
      }),
    );
    const got = await hourlyFingerprint(db, data);
    if (floorRows !== got) throw new Error(`floor differs from attributeDay: ${floorRows} ≠ ${got}`);
    opts.log(
      `  run ${i + 1}: attributeDay ${runs[i]?.toFixed(0)} ms, INSERT … SELECT ${floors[i]?.toFixed(0)} ms (same rows: ${got})`,
    );
  }
  return benchLine('attribution (facts → attribution_hourly)', data.facts, runs, floors);
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
 * Export: exportDay (one TSV per product via COPY TO) against the floor, one raw COPY TO of the same rows, all
 * products, in the same order, streamed to one file. Throws unless the floor's bytes equal the files' bodies
 * concatenated in product order.
 */
export async function benchExport(
  db: Knex,
  data: AttributionData,
  opts: { runs: number; workDir: string; log: (s: string) => void },
): Promise<BenchLine> {
  const key = { account_id: data.accountId, day: data.day };
  if (!(await db('attribution_runs').where(key).first()))
    await attributeDay(db, { accountId: key.account_id, day: key.day });
  await db.raw('VACUUM ANALYZE attribution_hourly');
  const outputDir = path.join(opts.workDir, 'export');
  const floorFile = path.join(opts.workDir, `export-floor-${data.day}.tsv`);
  const cells = data.tagKeys.map((_, i) => `h.cells[${i + 1}], `).join('');
  const floorSql = (c: PoolClient) => `COPY (
    SELECT o.public_id, o.name, to_char(h.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:00:00'), ${cells}
           trim_scale(h.total_usage)
      FROM attribution_hourly h JOIN orgs o ON o.id = h.org_id JOIN products p ON p.id = h.product_id
     WHERE h.account_id = ${c.escapeLiteral(data.accountId)} AND h.day = ${c.escapeLiteral(data.day)}::date
     ORDER BY p.code, o.public_id COLLATE "C", h.hour, h.cells::text COLLATE "C"
  ) TO STDOUT WITH (FORMAT text, NULL '')`;
  const runs: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    fs.rmSync(outputDir, { recursive: true, force: true });
    fs.rmSync(floorFile, { force: true });
    let files: Awaited<ReturnType<typeof exportDay>> = [];
    runs.push(
      await timeIt(async () => {
        files = await exportDay(db, { accountId: data.accountId, day: data.day, outputDir });
      }),
    );
    floors.push(
      await timeIt(async () => {
        const client = (await db.client.acquireConnection()) as PoolClient;
        try {
          await pipeline(client.query(copyTo(floorSql(client))), fs.createWriteStream(floorFile));
        } finally {
          await db.client.releaseConnection(client);
        }
      }),
    );
    // exportDay returns its files in product-code order, the floor's first sort key.
    const rows = files.reduce((n, f) => n + f.rows, 0);
    if (rows !== data.hourlyRows)
      throw new Error(`exportDay wrote ${rows} rows, expected ${data.hourlyRows}`);
    const bodies = await hashFiles(
      files.map((f) => f.file),
      true,
    );
    const raw = await hashFiles([floorFile], false);
    if (bodies.sha256 !== raw.sha256) {
      throw new Error(
        `floor differs from exportDay: ${raw.bytes} bytes ${raw.sha256} ≠ ${bodies.bytes} bytes ${bodies.sha256}`,
      );
    }
    opts.log(
      `  run ${i + 1}: exportDay ${runs[i]?.toFixed(0)} ms (${files.length} files), COPY TO ${floors[i]?.toFixed(0)} ms (same ${raw.bytes} bytes: sha256 ${raw.sha256.slice(0, 12)})`,
    );
  }
  return benchLine('export (attribution_hourly → TSV)', data.hourlyRows, runs, floors);
}
