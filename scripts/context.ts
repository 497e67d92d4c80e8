import type { Knex } from 'knex';
import { loadConfig, type Config } from '../infra/config';
import { createDb } from '../infra/db';
import { resolveDatabaseUrl } from '../infra/stack';
import { ensureDatabase, migrateLatest, pendingMigrations } from '../db/migrate';

export const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Opens the database for one command and closes it after. On the local stack, migrations are applied on the
 * fly; against a DATABASE_URL a pending migration is an error that says what to run.
 */
export async function withDb<T>(fn: (db: Knex, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const url = resolveDatabaseUrl(config);
  const db = createDb(url);
  try {
    if (config.databaseUrl === undefined) {
      await ensureDatabase(url);
      await migrateLatest(db);
    } else {
      const pending = await pendingMigrations(db);
      if (pending.length)
        throw new Error(`the database is not migrated (${pending.join(', ')}): run \`orgtally migrate\``);
    }
    return await fn(db, config);
  } finally {
    await db.destroy();
  }
}

/** The instant a command computes for: --as-of, else now. The CLI is an edge: it may read the clock. */
export function asOfFrom(option: string | undefined): number {
  if (option === undefined) return Date.now();
  const ms = Date.parse(option);
  if (Number.isNaN(ms)) throw new Error(`--as-of "${option}" is not an ISO 8601 instant`);
  return ms;
}

/** Prints rows as an aligned text table. */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (!rows.length) return '(none)';
  const cols = columns ?? Object.keys(rows[0] as object);
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '')));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
