import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

/**
 * Everything a run left, in a form two runs can be compared by: every table's rows (as sorted text, hashed) and
 * every output file (by content hash). What differs between two correct runs by nature is left out: surrogate
 * ids (retries draw sequence values), wall-clock times, attempt counts and server replies; a row that points at a
 * surrogate id is compared by what it points at (a batch by its key, a tag set by its tags), a file path by its
 * name.
 */
export interface Snapshot {
  tables: Record<string, { rows: number; md5: string }>;
  files: Record<string, string>;
}

// `at`: when an audit row was written; `secret`: the cursor-signing key, random by design.
const LEFT_OUT =
  /^(id|at|secret|claim_id|attempts|unknown_outcomes|smtp_response|last_error)$|_at$|watermark$/;

function columnSql(table: string, column: string): string | undefined {
  if (LEFT_OUT.test(column)) return undefined;
  const c = `t."${column}"`;
  if (column === 'batch_id') return `(SELECT b.batch_key FROM ingest_batches b WHERE b.id = ${c})`;
  if (column === 'tag_set_id') return `(SELECT s.tags::text FROM tag_sets s WHERE s.id = ${c})`;
  if (column === 'role_id') return `(SELECT r.account_id || '/' || r.name FROM roles r WHERE r.id = ${c})`;
  if (column === 'user_id') return `(SELECT u.account_id || '/' || u.email FROM users u WHERE u.id = ${c})`;
  if ((table === 'ingest_batches' && column === 'source') || (table === 'quarantine' && column === 'file'))
    return `regexp_replace(${c}, '^.*/', '')`;
  return `${c}::text`;
}

export async function snapshotTables(db: Knex): Promise<Snapshot['tables']> {
  const { rows: cols } = await db.raw(
    `SELECT c.table_name, c.column_name FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name NOT LIKE 'knex%'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const byTable = new Map<string, string[]>();
  for (const r of cols as { table_name: string; column_name: string }[]) {
    const sql = columnSql(r.table_name, r.column_name);
    if (!sql) continue;
    byTable.set(r.table_name, [...(byTable.get(r.table_name) ?? []), sql]);
  }
  const out: Snapshot['tables'] = {};
  for (const [table, exprs] of byTable) {
    const { rows } = await db.raw(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(r, E'\\n' ORDER BY r COLLATE "C"), '')) AS md5
         FROM (SELECT concat_ws(E'\\t', ${exprs.map((e) => `coalesce(${e}, '∅')`).join(', ')}) AS r
                 FROM "${table}" t) x`,
    );
    out[table] = { rows: rows[0].n, md5: rows[0].md5 };
  }
  return out;
}

/** Every file under `dir` (relative path → SHA-256), except the folders named in `skip`. */
export function snapshotFiles(dir: string, skip: string[] = []): Snapshot['files'] {
  const out: Snapshot['files'] = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (skip.includes(rel)) continue;
      if (e.isDirectory()) walk(p);
      else out[rel] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** What differs between two snapshots, in words (empty when they are the same). */
export function differences(a: Snapshot, b: Snapshot): string[] {
  const out: string[] = [];
  for (const t of new Set([...Object.keys(a.tables), ...Object.keys(b.tables)])) {
    const x = a.tables[t];
    const y = b.tables[t];
    if (x?.md5 !== y?.md5)
      out.push(`table ${t}: ${x?.rows ?? 'absent'} vs ${y?.rows ?? 'absent'} rows, contents differ`);
  }
  for (const f of new Set([...Object.keys(a.files), ...Object.keys(b.files)])) {
    if (a.files[f] !== b.files[f])
      out.push(
        `file ${f}: ${a.files[f] ? 'differs' : 'missing in the clean run'}${b.files[f] ? '' : ' / missing'}`,
      );
  }
  return out;
}
