import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { tagsObject, type Cell } from '../domain/attribution';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { monthEndFileNames, type OrgRow, type TagRow, type TotalRow } from '../domain/month-end-report';
import { DEFAULT_FILE_MODES, type FileModes } from '../domain/file-modes';
import type { Change } from './month-end';
import { quoteIdent, sheetCellSql } from './sql';
import { ensureDir, removeStaleTemps, tempName } from './files';

/** Reads stored month-end versions (owner: db/month-end.ts) for reports, files and mail. */

export interface VersionRow {
  account_id: string;
  account_name: string;
  timezone: string;
  /** ISO 4217: the currency the version was priced in. */
  currency: string;
  /** The status the version was issued (first mailed) with; `status` may have moved to final since. */
  issued_status: 'provisional' | 'final';
  month: string;
  version: number;
  status: 'provisional' | 'final';
  data_complete_through: string;
  computed_at: string;
  as_of: string;
  facts_watermark: string | null;
  tag_keys: string[];
  /** When the month's figures become final: the month's end in the account's zone plus the lateness window. */
  final_after: string;
  hours: number;
  checksum: string;
  changes: Change[];
}

const TOTAL_COLS = `usage_type, unit, aggregation, trim_scale(total_usage)::text AS total_usage,
  trim_scale(billable_usage)::text AS billable_usage, trim_scale(committed_usage)::text AS committed_usage,
  trim_scale(allotment_usage)::text AS allotment_usage, trim_scale(included_usage)::text AS included_usage,
  trim_scale(on_demand_usage)::text AS on_demand_usage, trim_scale(committed_price)::text AS committed_price,
  trim_scale(on_demand_price)::text AS on_demand_price, committed_cost::text, on_demand_cost::text,
  total_cost::text`;
const ORG_COLS = `public_id, org_name, billable, usage_type, trim_scale(total_usage)::text AS total_usage,
  trim_scale(billable_usage)::text AS billable_usage, trim_scale(committed_usage)::text AS committed_usage,
  trim_scale(on_demand_usage)::text AS on_demand_usage,
  trim_scale(percentage_in_account)::text AS percentage_in_account, committed_cost::text, on_demand_cost::text,
  total_cost::text`;

/** The version (default: the latest) of an account's month, or undefined when the month was never closed. */
export async function findVersion(
  db: Knex,
  accountId: string,
  month: string,
  version?: number,
): Promise<VersionRow | undefined> {
  const row = await db('month_end_versions as v')
    .join('accounts as a', 'a.id', 'v.account_id')
    .where({ 'v.account_id': accountId, 'v.month': `${month}-01` })
    .modify((q) => {
      if (version !== undefined) q.where('v.version', version);
    })
    .orderBy('v.version', 'desc')
    .first(
      'v.account_id',
      'a.name as account_name',
      'a.timezone',
      'v.currency',
      'v.issued_status',
      db.raw(`to_char(v.month, 'YYYY-MM') AS month`),
      'v.version',
      'v.status',
      'v.data_complete_through',
      'v.computed_at',
      'v.as_of',
      db.raw('v.facts_watermark::text AS facts_watermark'),
      'v.tag_keys',
      db.raw(`((v.month + interval '1 month')::timestamp AT TIME ZONE a.timezone)
                + make_interval(hours => a.lateness_hours) AS final_after`),
      'v.hours',
      'v.checksum',
      'v.changes',
    );
  if (!row) return undefined;
  return {
    ...row,
    data_complete_through: new Date(row.data_complete_through).toISOString(),
    computed_at: new Date(row.computed_at).toISOString(),
    as_of: new Date(row.as_of).toISOString(),
    final_after: new Date(row.final_after).toISOString(),
  };
}

export async function requireVersion(
  db: Knex,
  accountId: string,
  month: string,
  version?: number,
): Promise<VersionRow> {
  const v = await findVersion(db, accountId, month, version);
  if (!v) {
    throw new OrgtallyError(
      ErrorType.InvalidInput,
      `${accountId} ${month}${version ? ` version ${version}` : ''} has not been closed (run month-end first)`,
    );
  }
  return v;
}

const vwhere = (v: VersionRow) => ({ account_id: v.account_id, month: `${v.month}-01`, version: v.version });

export async function totals(db: Knex, v: VersionRow): Promise<TotalRow[]> {
  return db('month_end_totals').where(vwhere(v)).orderBy('usage_type').select(db.raw(TOTAL_COLS));
}

/** `orgs`: only these public ids (a reader's scope; default every org). */
export async function byOrg(db: Knex, v: VersionRow, orgs?: string[]): Promise<OrgRow[]> {
  return db('month_end_orgs')
    .where(vwhere(v))
    .modify((q) => {
      if (orgs) q.whereIn('public_id', orgs);
    })
    .orderByRaw('public_id COLLATE "C", usage_type COLLATE "C"')
    .select(db.raw(ORG_COLS));
}

export async function byTag(
  db: Knex,
  v: VersionRow,
  opts: { limit?: number; orgs?: string[] } = {},
): Promise<TagRow[]> {
  const { limit, orgs } = opts;
  const rows = await db('month_end_tags as t')
    .join('month_end_orgs as o', function () {
      this.on('o.account_id', 't.account_id')
        .andOn('o.month', 't.month')
        .andOn('o.version', 't.version')
        .andOn('o.public_id', 't.public_id')
        .andOn('o.usage_type', 't.usage_type');
    })
    .where({ 't.account_id': v.account_id, 't.month': `${v.month}-01`, 't.version': v.version })
    .modify((q) => {
      if (orgs) q.whereIn('t.public_id', orgs);
      if (limit !== undefined)
        q.orderBy('t.total_cost', 'desc').orderBy('t.total_usage', 'desc').limit(limit);
    })
    .orderByRaw('t.public_id COLLATE "C", t.usage_type COLLATE "C", t.cells COLLATE "C"')
    .select(
      't.public_id',
      'o.org_name',
      't.usage_type',
      't.cells',
      db.raw(`trim_scale(t.total_usage)::text AS total_usage, trim_scale(t.billable_usage)::text AS billable_usage,
              trim_scale(t.committed_usage)::text AS committed_usage,
              trim_scale(t.on_demand_usage)::text AS on_demand_usage,
              trim_scale(t.percentage_in_org)::text AS percentage_in_org,
              trim_scale(t.percentage_in_account)::text AS percentage_in_account,
              t.committed_cost::text, t.on_demand_cost::text, t.total_cost::text`),
    );
  return rows.map(({ cells, ...r }: { cells: Cell[] } & Omit<TagRow, 'tags'>) => ({
    ...r,
    tags: tagsObject(v.tag_keys, cells),
  }));
}

export interface WrittenFile {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
}

export interface StoredRender {
  subject: string;
  html: string;
  text: string;
  /** The six-month cost chart the HTML shows inline (null: no chart). */
  chart_png: Buffer | null;
}

/**
 * The version's mail as first rendered (owner of month_end_renders). Rendered once: the mail of every recipient,
 * any re-send and the version's report files are these bytes, whatever changes later (a restated month before
 * it moves its trends). Concurrent first renders converge on the one stored first.
 */
export async function versionRender(
  db: Knex,
  v: VersionRow,
  render: () => Promise<StoredRender>,
): Promise<StoredRender> {
  const key = vwhere(v);
  const cols = ['subject', 'html', 'text', 'chart_png'];
  const stored = await db('month_end_renders').where(key).first(cols);
  if (stored) return stored;
  await db('month_end_renders')
    .insert({ ...key, ...(await render()) })
    .onConflict(['account_id', 'month', 'version'])
    .ignore();
  return db('month_end_renders').where(key).first(cols);
}

/** Writes a file once, through a temporary name (a reader never sees half a file); an existing file is kept. */
export function writeOnce(file: string, data: string, modes: FileModes): void {
  removeStaleTemps(file);
  if (fs.existsSync(file)) return;
  const tmp = tempName(file);
  try {
    fs.writeFileSync(tmp, data, { mode: modes.file });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function describeFile(name: string, file: string): WrittenFile {
  const bytes = fs.readFileSync(file);
  return { name, path: file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Writes the version's attachments with COPY … TO STDOUT streamed to disk (rows never pass through arrays):
 * `month_end_<account>_<YYYY-MM>_by_org.csv`, `…_by_tag.csv`, and `summary_<tag key>_<YYYY-MM>.tsv` per key
 * (Datadog's monthly layout: header, then the all-tags row, then one row per org and tag value with one column
 * per product). A version's files never change once written: a file already there is kept as it is (the rows of
 * a version never change, so a missing one is written again with the same bytes). Written to a temporary name
 * and renamed, so a reader never sees half a file; a failed write leaves no temporary file behind.
 */
/** Each file of a version and the COPY that writes it: the same bytes on disk and in a download. */
export async function monthEndFileJobs(db: Knex, v: VersionRow): Promise<{ name: string; sql: string }[]> {
  const names = monthEndFileNames(v.account_id, v.month, v.version, v.tag_keys);
  const w = db.raw('?, CAST(? AS date), ?', [v.account_id, `${v.month}-01`, v.version]).toString();
  const products = (
    await db('month_end_totals').where(vwhere(v)).orderByRaw('usage_type COLLATE "C"').select('usage_type')
  ).map((r: { usage_type: string }) => r.usage_type);
  // Text cells a spreadsheet could run as a formula are escaped (domain/sheet.ts); identifiers are quoted whole.
  const keyCols = v.tag_keys
    .map((k, i) => `${sheetCellSql(`coalesce(t.cells[${i + 1}], '')`)} AS ${quoteIdent(k)}`)
    .join(', ');
  const fileOrgCols = ORG_COLS.replace(
    /\borg_name\b/,
    () => `${sheetCellSql('org_name')} AS org_name`,
  ).replace(/\bbillable\b/, () => `CASE WHEN billable THEN 'true' ELSE 'false' END AS billable`);
  // Every row says which month, version, status and currency it is: a file read alone (or two versions' files
  // side by side in a spreadsheet) cannot be mistaken for another. The status is the one the version was issued
  // with, so a download and the mailed attachment are the same bytes even after a finalize in place.
  const meta = db
    .raw(`?::text AS month, ?::integer AS version, ?::text AS status, ?::text AS currency`, [
      v.month,
      v.version,
      v.issued_status,
      v.currency,
    ])
    .toString();
  const jobs: { name: string; sql: string }[] = [
    {
      name: names.byOrg,
      sql: `COPY (SELECT ${meta}, ${fileOrgCols} FROM month_end_orgs
                   WHERE (account_id, month, version) = (${w})
                   ORDER BY public_id COLLATE "C", usage_type COLLATE "C")
            TO STDOUT WITH (FORMAT csv, HEADER)`,
    },
    {
      name: names.byTag,
      sql: `COPY (SELECT ${meta}, t.public_id, ${sheetCellSql('o.org_name')} AS org_name, t.usage_type${keyCols ? `, ${keyCols}` : ''},
                         trim_scale(t.total_usage) AS total_usage, trim_scale(t.billable_usage) AS billable_usage,
                         trim_scale(t.committed_usage) AS committed_usage,
                         trim_scale(t.on_demand_usage) AS on_demand_usage,
                         trim_scale(t.percentage_in_org) AS percentage_in_org,
                         trim_scale(t.percentage_in_account) AS percentage_in_account,
                         t.committed_cost, t.on_demand_cost, t.total_cost
                    FROM month_end_tags t
                    JOIN month_end_orgs o USING (account_id, month, version, public_id, usage_type)
                   WHERE (t.account_id, t.month, t.version) = (${w})
                   ORDER BY t.public_id COLLATE "C", t.usage_type COLLATE "C", t.cells COLLATE "C")
            TO STDOUT WITH (FORMAT csv, HEADER)`,
    },
    ...v.tag_keys.map((key, i) => {
      const c = (j: number) => `c${j}`;
      const aggs = products
        .map((p, j) => {
          const code = db.raw('?', [p]).toString();
          return `, coalesce(trim_scale(sum(x.total_usage) FILTER (WHERE x.usage_type = ${code})), 0) AS ${c(j)}`;
        })
        .join('');
      const outer = products.map((p, j) => `, ${c(j)} AS ${quoteIdent(p)}`).join('');
      return {
        name: names.summaries[i] as string,
        sql: `COPY (SELECT public_id, ${sheetCellSql('org_name')} AS org_name, ${sheetCellSql('tag')} AS ${quoteIdent(key)}${outer} FROM (
                SELECT 0 AS ord, ${db.raw('?', [v.account_id]).toString()}::text AS public_id,
                       'All organizations'::text AS org_name, '<all>'::text AS tag, NULL::text AS sort_tag${aggs}
                  FROM month_end_totals x WHERE (x.account_id, x.month, x.version) = (${w})
                UNION ALL
                SELECT 1, x.public_id, max(o.org_name), coalesce(x.cells[${i + 1}], ''), x.cells[${i + 1}]${aggs}
                  FROM month_end_tags x
                  JOIN month_end_orgs o USING (account_id, month, version, public_id, usage_type)
                 WHERE (x.account_id, x.month, x.version) = (${w})
                 GROUP BY x.public_id, x.cells[${i + 1}]) z
              ORDER BY ord, public_id COLLATE "C", sort_tag COLLATE "C" NULLS FIRST)
            TO STDOUT WITH (FORMAT text, HEADER)`,
      };
    }),
  ];
  return jobs;
}

/**
 * One file of a version as a stream straight out of Postgres (COPY TO STDOUT), for a download: never held in
 * memory. Undefined when the version has no file of that name. The connection goes back to the pool when the
 * stream ends, fails or is closed by the reader.
 */
export async function openMonthEndFile(db: Knex, v: VersionRow, name: string): Promise<Readable | undefined> {
  const job = (await monthEndFileJobs(db, v)).find((j) => j.name === name);
  if (!job) return undefined;
  const conn = (await db.client.acquireConnection()) as PoolClient;
  const stream = conn.query(copyTo(job.sql));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    void db.client.releaseConnection(conn);
  };
  stream.on('end', release).on('error', release).on('close', release);
  return stream;
}

export async function writeMonthEndFiles(
  db: Knex,
  v: VersionRow,
  dir: string,
  modes: FileModes = DEFAULT_FILE_MODES,
): Promise<WrittenFile[]> {
  ensureDir(dir, modes.dir);
  const jobs = await monthEndFileJobs(db, v);
  const out: WrittenFile[] = [];
  const conn = (await db.client.acquireConnection()) as PoolClient;
  try {
    for (const job of jobs) {
      const file = path.join(dir, job.name);
      removeStaleTemps(file);
      if (fs.existsSync(file)) {
        out.push(describeFile(job.name, file));
        continue;
      }
      const tmp = tempName(file);
      const hash = createHash('sha256');
      let bytes = 0;
      const stream = conn.query(copyTo(job.sql));
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      try {
        await pipeline(stream, fs.createWriteStream(tmp, { mode: modes.file }));
        fs.renameSync(tmp, file);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
      out.push({ name: job.name, path: file, bytes, sha256: hash.digest('hex') });
    }
  } finally {
    await db.client.releaseConnection(conn);
  }
  return out;
}

export interface MonthStatus {
  /** [start, end) of the month in the account's time zone. */
  start: string;
  end: string;
  /** The month has ended at as-of. */
  ended: boolean;
  /** Its month-end versions, oldest first (empty: never closed). */
  versions: number[];
  /** The account's first hour of usage ever (null: none yet). */
}

/** Where a month stands at an instant: what a report of it can say, and what it must refuse. */
export async function monthStatus(
  db: Knex,
  accountId: string,
  month: string,
  asOf: string,
): Promise<MonthStatus> {
  const { rows } = await db.raw(
    `SELECT s AS start, e AS end, CAST(:asOf AS timestamptz) >= e AS ended,
            coalesce((SELECT array_agg(v.version ORDER BY v.version) FROM month_end_versions v
                       WHERE v.account_id = :account AND v.month = CAST(:start AS date)), '{}') AS versions
       FROM accounts a,
            LATERAL (SELECT (CAST(:start AS date))::timestamp AT TIME ZONE a.timezone AS s,
                            (CAST(:start AS date) + interval '1 month')::timestamp AT TIME ZONE a.timezone AS e) b
      WHERE a.id = :account`,
    { account: accountId, start: `${month}-01`, asOf },
  );
  const r = rows[0];
  if (!r) throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${accountId}"`);
  return {
    start: new Date(r.start).toISOString(),
    end: new Date(r.end).toISOString(),
    ended: r.ended,
    versions: r.versions,
  };
}

/**
 * The account's first usage hour, or null. Read only when a month has no version: it scans the account's facts,
 * which a stored month never needs (the billable summary asked it on every request).
 */
export async function firstUsage(db: Knex, accountId: string): Promise<string | null> {
  const { rows } = await db.raw(
    `SELECT min(f.hour) AS first FROM usage_facts f JOIN orgs o ON o.id = f.org_id WHERE o.account_id = ?`,
    [accountId],
  );
  return rows[0]?.first ? new Date(rows[0].first).toISOString() : null;
}
