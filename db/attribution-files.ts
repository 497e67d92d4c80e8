import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { dailyFileName, dailyHeader } from '../domain/attribution';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { DEFAULT_FILE_MODES, type FileModes } from '../domain/file-modes';
import { sheetCellSql } from './sql';
import { ensureDir, removeStaleTemps, tempName } from './files';

export interface ExportedFile {
  product: string;
  file: string;
  rows: number;
  sha256: string;
  bytes: number;
}

async function withClient<T>(db: Knex, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = (await db.client.acquireConnection()) as PoolClient;
  try {
    return await fn(client);
  } finally {
    await db.client.releaseConnection(client);
  }
}

async function latestRun(db: Knex, accountId: string, day: string) {
  const run = await db('attribution_runs').where({ account_id: accountId, day }).first();
  if (!run) throw new OrgtallyError(ErrorType.InvalidInput, `${accountId} ${day} has not been attributed`);
  return run as { tag_keys: string[] };
}

/**
 * The rows of one product's daily file, as a COPY query (literals escaped: COPY takes no parameters). Ordered in
 * the C collation, so the bytes do not depend on the database's locale.
 */
function fileQuery(
  client: PoolClient,
  accountId: string,
  day: string,
  productId: number,
  keys: number,
): string {
  // Text cells a spreadsheet could run as a formula are escaped (domain/sheet.ts); NULL stays a blank cell.
  const cells = Array.from({ length: keys }, (_, i) => sheetCellSql(`h.cells[${i + 1}]`)).join(', ');
  return `COPY (
    SELECT o.public_id, ${sheetCellSql('o.name')}, to_char(h.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:00:00'),
           ${cells ? `${cells},` : ''} trim_scale(h.total_usage)
      FROM attribution_hourly h JOIN orgs o ON o.id = h.org_id
     WHERE h.account_id = ${client.escapeLiteral(accountId)} AND h.day = ${client.escapeLiteral(day)}::date
       AND h.product_id = ${Number(productId)}
     ORDER BY o.public_id COLLATE "C", h.hour, h.cells::text COLLATE "C"
  ) TO STDOUT WITH (FORMAT text, NULL '')`;
}

/**
 * Writes one TSV per product of the account for the day (header only when the product had no usage), streamed
 * from Postgres with COPY TO, to a temporary name then renamed: a reader never sees half a file. Deterministic:
 * the same rows give byte-identical files.
 */
export async function exportDay(
  db: Knex,
  input: { accountId: string; day: string; outputDir: string; modes?: FileModes },
): Promise<ExportedFile[]> {
  const modes = input.modes ?? DEFAULT_FILE_MODES;
  const run = await latestRun(db, input.accountId, input.day);
  const dir = path.join(input.outputDir, input.accountId, 'attribution');
  ensureDir(dir, modes.dir);
  const products: { id: number; code: string }[] = await db('products')
    .where({ account_id: input.accountId })
    .orderBy('code')
    .select('id', 'code');
  const out: ExportedFile[] = [];
  for (const p of products) {
    const file = path.join(dir, dailyFileName(p.code, input.day));
    removeStaleTemps(file);
    const tmp = tempName(file);
    const hash = createHash('sha256');
    let bytes = 0;
    let rows = 0;
    const header = `${dailyHeader(run.tag_keys)}\n`;
    hash.update(header);
    bytes += Buffer.byteLength(header);
    const counter = new Transform({
      transform(chunk: Buffer, _e, done) {
        hash.update(chunk);
        bytes += chunk.length;
        for (const b of chunk) if (b === 10) rows++;
        done(null, chunk);
      },
    });
    const sink = fs.createWriteStream(tmp, { mode: modes.file });
    sink.write(header);
    try {
      await withClient(db, (c) =>
        pipeline(
          c.query(copyTo(fileQuery(c, input.accountId, input.day, p.id, run.tag_keys.length))),
          counter,
          sink,
        ),
      );
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    out.push({ product: p.code, file, rows, sha256: hash.digest('hex'), bytes });
  }
  return out;
}

/**
 * Reads every exported file back into Postgres and checks, per org and product, that the file's total equals the
 * facts and the attributed rows of the day, and that its row count equals the hourly rows. Records the file
 * checksums on the run. A mismatch is a permanent failure: the files must not be used.
 */
export async function reconcileDay(
  db: Knex,
  input: { accountId: string; day: string; files: ExportedFile[] },
): Promise<{ checkedFiles: number; checkedRows: number }> {
  const run = await latestRun(db, input.accountId, input.day);
  const problems: string[] = [];
  let checkedRows = 0;
  await withClient(db, async (c) => {
    await c.query('BEGIN');
    try {
      const cellCols = run.tag_keys.map((_, i) => `c${i + 1} text`).join(', ');
      await c.query(
        `CREATE TEMP TABLE recon_file (public_id text, org_name text, ts text, ${cellCols ? `${cellCols},` : ''}
           total numeric) ON COMMIT DROP`,
      );
      for (const f of input.files) {
        await c.query('TRUNCATE recon_file');
        await pipeline(
          fs.createReadStream(f.file),
          c.query(copyFrom(`COPY recon_file FROM STDIN WITH (FORMAT text, NULL '', HEADER true)`)),
        );
        const { rows } = await c.query(
          `WITH file AS (SELECT public_id, sum(total) AS total, count(*) AS n FROM recon_file GROUP BY public_id),
                want AS (SELECT o.public_id, t.facts_total, t.rows_total,
                                (SELECT count(*) FROM attribution_hourly h
                                  WHERE h.account_id = t.account_id AND h.day = t.day AND h.org_id = t.org_id
                                    AND h.product_id = t.product_id) AS n
                           FROM attribution_totals t
                           JOIN orgs o ON o.id = t.org_id JOIN products p ON p.id = t.product_id
                          WHERE t.account_id = $1 AND t.day = $2 AND p.code = $3)
           SELECT coalesce(file.public_id, want.public_id) AS public_id, file.total::text AS file_total,
                  want.facts_total::text AS facts_total, file.n AS file_rows, want.n AS rows
             FROM file FULL JOIN want ON want.public_id = file.public_id
            WHERE file.total IS DISTINCT FROM want.facts_total OR file.total IS DISTINCT FROM want.rows_total
               OR file.n IS DISTINCT FROM want.n`,
          [input.accountId, input.day, f.product],
        );
        for (const r of rows) {
          problems.push(
            `${path.basename(f.file)} ${r.public_id}: file ${r.file_total ?? 'absent'} (${r.file_rows ?? 0} rows), facts ${r.facts_total ?? 'none'} (${r.rows ?? 0} rows)`,
          );
        }
        checkedRows += f.rows;
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
  if (problems.length) {
    throw new OrgtallyError(
      ErrorType.ReconciliationMismatch,
      `files of ${input.accountId} ${input.day} do not match the facts: ${problems.slice(0, 5).join('; ')}`,
    );
  }
  await db('attribution_runs')
    .where({ account_id: input.accountId, day: input.day })
    .update({
      files: JSON.stringify(
        input.files.map((f) => ({
          product: f.product,
          file: path.basename(f.file),
          rows: f.rows,
          sha256: f.sha256,
        })),
      ),
      reconciled_at: db.fn.now(),
    });
  return { checkedFiles: input.files.length, checkedRows };
}
