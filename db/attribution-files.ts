import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { dailyFileName, dailyHeader } from '../domain/attribution';
import { cmp, dec, text } from '../domain/exact';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { DEFAULT_FILE_MODES, type FileModes } from '../domain/file-modes';
import { buildDayHours, type DayWindow } from './attribution-day-rows';
import { sheetCellSql } from './sql';
import { ensureDir, removeStaleTemps, tempName } from './files';

export interface ExportedFile {
  product: string;
  file: string;
  rows: number;
  sha256: string;
  bytes: number;
}

export interface FileOptions {
  outputDir: string;
  modes?: FileModes;
}

/** The transaction's own connection (knex hands a transaction's client back for every acquire). */
async function connectionOf(trx: Knex.Transaction): Promise<PoolClient> {
  return (await trx.client.acquireConnection()) as PoolClient;
}

/**
 * The day's files in one COPY: day_hours (db/attribution-day-rows.ts) in file order, joined back to names in a
 * nested loop so Postgres sorts narrow integer rows, not the printed ones. The rows are written in product order;
 * `splitCopy` cuts the stream into files at the product boundaries it knows from the row counts.
 */
function dayCopySql(keys: number): string {
  const cells = Array.from({ length: keys }, (_, i) => sheetCellSql(`c.cells[${i + 1}]`)).join(', ');
  return `COPY (
    SELECT o.public_id, ${sheetCellSql('o.name')}, to_char(h.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:00:00'),
           ${cells ? `${cells},` : ''} trim_scale(h.total)
      FROM (SELECT * FROM day_hours ORDER BY product_rank, org_rank, hour, combo) h
      JOIN day_orgs o ON o.rank = h.org_rank
      JOIN day_combos c ON c.combo = h.combo
     ORDER BY h.product_rank, h.org_rank, h.hour, h.combo
  ) TO STDOUT WITH (FORMAT text, NULL '')`;
}

interface Sink {
  product: string;
  file: string;
  tmp: string;
  rows: number;
  written: number;
  bytes: number;
  hash: Hash;
  header: string;
  mode: number;
  /** Opened when the sink's first bytes come: one file open at a time, however many products. */
  out?: fs.WriteStream;
  error?: Error;
}

function opened(sink: Sink): fs.WriteStream {
  if (!sink.out) {
    const out = fs.createWriteStream(sink.tmp, { mode: sink.mode });
    // A disk error (full, quota, I/O) fails this attribution, never the worker: kept, thrown by the next step.
    out.on('error', (err) => (sink.error ??= err));
    sink.out = out;
    sink.hash.update(sink.header);
    sink.bytes += Buffer.byteLength(sink.header);
    out.write(sink.header);
  }
  return sink.out;
}

/** Resolves on `event`, rejects on the stream's error (one seen before included). */
async function settle(sink: Sink, out: fs.WriteStream, event: 'drain' | 'finish'): Promise<void> {
  if (sink.error) throw sink.error;
  await new Promise<void>((resolve, reject) => {
    const ok = () => {
      out.off('error', ko);
      resolve();
    };
    const ko = (err: Error) => {
      out.off(event, ok);
      reject(err);
    };
    out.once(event, ok);
    out.once('error', ko);
  });
}

async function write(sink: Sink, data: Buffer): Promise<void> {
  const out = opened(sink);
  if (sink.error) throw sink.error;
  sink.hash.update(data);
  sink.bytes += data.length;
  if (!out.write(data)) await settle(sink, out, 'drain');
}

async function close(sink: Sink): Promise<void> {
  const out = opened(sink);
  out.end();
  await settle(sink, out, 'finish');
}

/** Routes a COPY stream of rows in sink order to the sinks, each taking exactly its `rows` lines; `done` as each fills. */
async function splitCopy(
  source: AsyncIterable<Buffer>,
  sinks: Sink[],
  done: (s: Sink) => Promise<void>,
): Promise<void> {
  let i = 0;
  const next = async () => {
    while (i < sinks.length && sinks[i]!.written === sinks[i]!.rows) await done(sinks[i++]!);
  };
  // After a failure the rest of the COPY is still read (and dropped): a COPY left unread keeps its connection,
  // its transaction and the day's lock busy for good.
  let failed: unknown;
  await next().catch((err: unknown) => (failed = err));
  for await (const chunk of source) {
    if (failed) continue;
    try {
      let at = 0;
      while (at < chunk.length) {
        const sink = sinks[i];
        if (!sink) throw new Error('the export returned more rows than the day has');
        let end = at;
        while (sink.written < sink.rows) {
          const nl = chunk.indexOf(10, end);
          if (nl < 0) {
            end = chunk.length;
            break;
          }
          end = nl + 1;
          sink.written++;
        }
        await write(sink, chunk.subarray(at, end));
        at = end;
        await next();
      }
    } catch (err) {
      failed = err;
    }
  }
  if (failed) throw failed;
  const short = sinks.find((s) => s.written !== s.rows);
  if (short) throw new Error(`the export of ${short.product} wrote ${short.written} of ${short.rows} rows`);
}

/**
 * Writes one TSV per product of the account for the day (header only when the product had no usage) from
 * day_hours, to temporary names, checks them (`verifyFiles`) and renames them: a reader never sees half a file
 * or one that does not add up. Deterministic: the same facts give byte-identical files.
 */
export async function writeDayFiles(
  trx: Knex.Transaction,
  w: DayWindow & { tagKeys: string[] },
  opts: FileOptions,
): Promise<ExportedFile[]> {
  const modes = opts.modes ?? DEFAULT_FILE_MODES;
  const dir = path.join(opts.outputDir, w.account, 'attribution');
  ensureDir(dir, modes.dir);
  const { rows: products } = await trx.raw(
    `SELECT p.code, coalesce(h.n, 0)::int AS n
       FROM day_products p
       LEFT JOIN (SELECT product_id, sum(n) AS n FROM hourly_sums GROUP BY product_id) h ON h.product_id = p.id
      ORDER BY p.rank`,
  );
  // Loaded before the COPY holds the connection: each file is checked as soon as it is complete, while the
  // next ones stream (the checks parse in this process, the COPY runs in Postgres).
  const want = await expectedTotals(trx, w);
  const checks: Promise<string[]>[] = [];
  const header = `${dailyHeader(w.tagKeys)}\n`;
  const sinks: Sink[] = [];
  try {
    for (const p of products as { code: string; n: number }[]) {
      const file = path.join(dir, dailyFileName(p.code, w.day));
      removeStaleTemps(file);
      const tmp = tempName(file);
      sinks.push({
        product: p.code,
        file,
        tmp,
        rows: p.n,
        written: 0,
        bytes: 0,
        hash: createHash('sha256'),
        header,
        mode: modes.file,
      });
    }
    // Hash joins would lose the order and sort the printed rows again (measured: twice the time).
    await trx.raw('SET LOCAL enable_hashjoin = off');
    await trx.raw('SET LOCAL enable_mergejoin = off');
    const conn = await connectionOf(trx);
    const files: ExportedFile[] = [];
    const done = async (s: Sink) => {
      await close(s);
      const f = {
        product: s.product,
        file: s.tmp,
        rows: s.rows,
        sha256: s.hash.digest('hex'),
        bytes: s.bytes,
      };
      files.push(f);
      const check = checkFile(f, want);
      // Handled now: a check that fails while the COPY still streams must not be an unhandled rejection.
      check.catch(() => undefined);
      checks.push(check);
    };
    await splitCopy(conn.query(copyTo(dayCopySql(w.tagKeys.length))) as AsyncIterable<Buffer>, sinks, done);
    await trx.raw('RESET enable_hashjoin');
    await trx.raw('RESET enable_mergejoin');
    failOn(w, (await Promise.all(checks)).flat());
    for (const s of sinks) fs.renameSync(s.tmp, s.file);
    return files.map((f, i) => ({ ...f, file: sinks[i]!.file }));
  } catch (err) {
    await Promise.allSettled(checks);
    for (const s of sinks) {
      if (s.out && !s.out.closed) {
        const closed = once(s.out, 'close').catch(() => undefined);
        s.out.destroy();
        await closed;
      }
      fs.rmSync(s.tmp, { force: true });
    }
    throw err;
  }
}

/** A mutable domain/exact Dec (n / 10^s) with a row count: the read-back adds millions of values, and a new
 * Dec per value would be garbage to collect. */
interface OrgSum {
  rows: number;
  n: bigint;
  s: number;
}

/** Rows and exact Σ of the last column per public_id (the first column) of one TSV, and its sha256 and size. */
async function readBack(file: string): Promise<{ sums: Map<string, OrgSum>; sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const sums = new Map<string, OrgSum>();
  let bytes = 0;
  let rest: Buffer = Buffer.alloc(0);
  let header = true;
  const add = (id: string, v: string) => {
    const dot = v.indexOf('.');
    const scale = dot < 0 ? 0 : v.length - dot - 1;
    let x = BigInt(dot < 0 ? v : v.slice(0, dot) + v.slice(dot + 1));
    let sum = sums.get(id);
    if (!sum) sums.set(id, (sum = { rows: 0, n: 0n, s: 0 }));
    if (scale > sum.s) {
      sum.n *= 10n ** BigInt(scale - sum.s);
      sum.s = scale;
    } else if (scale < sum.s) x *= 10n ** BigInt(sum.s - scale);
    sum.n += x;
    sum.rows++;
  };
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      if (header) header = false;
      else
        add(
          buf.toString('latin1', start, buf.indexOf(9, start)),
          buf.toString('latin1', buf.lastIndexOf(9, nl) + 1, nl),
        );
      start = nl + 1;
    }
    rest = buf.subarray(start);
  }
  if (rest.length) throw new Error(`${path.basename(file)} does not end with a newline`);
  return { sums, sha256: hash.digest('hex'), bytes };
}

type Expected = Map<string, Map<string, { facts: string; rows: string; n: number }>>;

/** The day's totals per product and public_id: what each file must add up to. */
async function expectedTotals(db: Knex, w: { account: string; day: string }): Promise<Expected> {
  const { rows } = await db.raw(
    `SELECT p.code, o.public_id, t.facts_total::text, t.rows_total::text, t.hourly_rows
       FROM attribution_totals t JOIN orgs o ON o.id = t.org_id JOIN products p ON p.id = t.product_id
      WHERE t.account_id = ? AND t.day = ?`,
    [w.account, w.day],
  );
  const want: Expected = new Map();
  for (const r of rows as {
    code: string;
    public_id: string;
    facts_total: string;
    rows_total: string;
    hourly_rows: number;
  }[]) {
    if (!want.has(r.code)) want.set(r.code, new Map());
    want.get(r.code)!.set(r.public_id, { facts: r.facts_total, rows: r.rows_total, n: r.hourly_rows });
  }
  return want;
}

/**
 * Reads a file back from disk and checks it against the day's totals: per org, the file's Σ equals Σ facts and
 * Σ attributed rows and its row count equals the hourly rows; and the bytes on disk are the ones written
 * (sha256). Returns the problems found.
 */
async function checkFile(f: ExportedFile, want: Expected): Promise<string[]> {
  const got = await readBack(f.file);
  const name = path.basename(f.file).replace(/\.tmp-.*$/, '');
  const problems: string[] = [];
  if (got.sha256 !== f.sha256 || got.bytes !== f.bytes)
    problems.push(`${name}: ${got.bytes} bytes on disk are not the ${f.bytes} written`);
  const expected = want.get(f.product) ?? new Map();
  for (const id of new Set([...got.sums.keys(), ...expected.keys()])) {
    const g = got.sums.get(id);
    const e = expected.get(id);
    const total = g ? { n: g.n, s: g.s } : undefined;
    const same = (x: string | undefined) =>
      total !== undefined && x !== undefined && cmp(total, dec(x)) === 0;
    if (!same(e?.facts) || !same(e?.rows) || (g?.rows ?? 0) !== (e?.n ?? -1))
      problems.push(
        `${name} ${id}: file ${total ? text(total) : 'absent'} (${g?.rows ?? 0} rows), facts ${e?.facts ?? 'none'} (${e?.n ?? 0} rows)`,
      );
  }
  return problems;
}

function failOn(w: { account: string; day: string }, problems: string[]): void {
  if (problems.length) {
    throw new OrgtallyError(
      ErrorType.ReconciliationMismatch,
      `files of ${w.account} ${w.day} do not match the facts: ${problems.slice(0, 5).join('; ')}`,
    );
  }
}

/**
 * Checks every file against the day's totals (`checkFile`); any difference is a permanent failure: the files must
 * not be used. Returns the rows checked.
 */
export async function verifyFiles(
  db: Knex,
  w: { account: string; day: string },
  files: ExportedFile[],
): Promise<number> {
  const want = await expectedTotals(db, w);
  const problems: string[] = [];
  for (const f of files) problems.push(...(await checkFile(f, want)));
  failOn(w, problems);
  return files.reduce((n, f) => n + f.rows, 0);
}

async function attributedRun(db: Knex, accountId: string, day: string) {
  const run = await db('attribution_runs').where({ account_id: accountId, day }).first();
  if (!run) throw new OrgtallyError(ErrorType.InvalidInput, `${accountId} ${day} has not been attributed`);
  return run as { tag_keys: string[]; period_start: Date; period_end: Date };
}

/**
 * The files of a day attributed earlier, written again from its facts and dictionary in a snapshot of their own
 * (attributeDay writes them itself when given an output folder). Refused while the day is pending: its facts are
 * no longer the ones attributed.
 */
export async function exportDay(
  db: Knex,
  input: { accountId: string; day: string } & FileOptions,
): Promise<ExportedFile[]> {
  return db.transaction(
    async (trx) => {
      const run = await attributedRun(trx, input.accountId, input.day);
      const pending = await trx('attribution_pending')
        .where({ account_id: input.accountId, day: input.day })
        .first();
      if (pending)
        throw new OrgtallyError(
          ErrorType.InvalidInput,
          `${input.accountId} ${input.day} has late data pending: attribute it again (its files come with it)`,
        );
      const w = { account: input.accountId, day: input.day, start: run.period_start, end: run.period_end };
      await buildDayHours(trx, w);
      const files = await writeDayFiles(trx, { ...w, tagKeys: run.tag_keys }, input);
      await recordFiles(trx, w, files);
      return files;
    },
    { isolationLevel: 'repeatable read' },
  );
}

/** The files' checksums on the day's run: what the files must still hash to. */
export async function recordFiles(db: Knex, w: { account: string; day: string }, files: ExportedFile[]) {
  await db('attribution_runs')
    .where({ account_id: w.account, day: w.day })
    .update({
      files: JSON.stringify(
        files.map((f) => ({
          product: f.product,
          file: path.basename(f.file),
          rows: f.rows,
          sha256: f.sha256,
        })),
      ),
      reconciled_at: db.fn.now(),
    });
}

/** Checks files written earlier against the day's totals again (`verifyFiles`) and records their checksums. */
export async function reconcileDay(
  db: Knex,
  input: { accountId: string; day: string; files: ExportedFile[] },
): Promise<{ checkedFiles: number; checkedRows: number }> {
  await attributedRun(db, input.accountId, input.day);
  const w = { account: input.accountId, day: input.day };
  const checkedRows = await verifyFiles(db, w, input.files);
  await recordFiles(db, w, input.files);
  return { checkedFiles: input.files.length, checkedRows };
}
