import knexFactory, { type Knex } from 'knex';
import * as foundation from './migrations/20261128000000_foundation';
import * as attribution from './migrations/20261129000000_attribution';
import * as monthEnd from './migrations/20261130000000_month_end';
import * as trends from './migrations/20261130100000_trends';
import * as estimates from './migrations/20261201000000_estimates';
import * as hardening from './migrations/20261202000000_hardening';
import * as access from './migrations/20261203000000_access';
import * as consoleTables from './migrations/20261204000000_console';
import * as shares from './migrations/20261205000000_shares';
import * as statements from './migrations/20261206000000_statements';
import * as attributionCells from './migrations/20261207000000_attribution_cells';
import * as usageDailyFillfactor from './migrations/20261208000000_usage_daily_fillfactor';

/** Migrations listed in code: no file-system discovery, so they run the same under tsx, jest and a bundle. */
const MIGRATIONS: Record<string, Knex.Migration> = {
  '20261128000000_foundation': foundation,
  '20261129000000_attribution': attribution,
  '20261130000000_month_end': monthEnd,
  '20261130100000_trends': trends,
  '20261201000000_estimates': estimates,
  '20261202000000_hardening': hardening,
  '20261203000000_access': access,
  '20261204000000_console': consoleTables,
  '20261205000000_shares': shares,
  '20261206000000_statements': statements,
  '20261207000000_attribution_cells': attributionCells,
  '20261208000000_usage_daily_fillfactor': usageDailyFillfactor,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const m = MIGRATIONS[name];
    if (!m) throw new Error(`unknown migration ${name}`);
    return m;
  },
};

export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}

/** Creates the database named in the URL when it does not exist yet (a fresh server or embedded Postgres). */
/** Undoes the applied migrations down to and including `name`, newest first (tests of a data step, both ways). */
export async function migrateDownThrough(knex: Knex, name: string): Promise<void> {
  if (!MIGRATIONS[name]) throw new Error(`unknown migration ${name}`);
  for (;;) {
    const [done] = (await knex.migrate.list({ migrationSource: source })) as [{ name: string }[], unknown];
    if (!done.some((m) => (m.name ?? m) === name)) return;
    await knex.migrate.down({ migrationSource: source });
  }
}

export async function ensureDatabase(url: string): Promise<boolean> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`DATABASE_URL names no database: ${u.host}`);
  u.pathname = '/postgres';
  const admin = knexFactory({ client: 'pg', connection: u.toString(), pool: { min: 0, max: 1 } });
  try {
    const { rows } = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [name]);
    if (rows.length > 0) return false;
    try {
      await admin.raw('CREATE DATABASE ??', [name]);
    } catch (err) {
      // 42P04: created meanwhile by a concurrent command.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
    return true;
  } finally {
    await admin.destroy();
  }
}

/** Names of migrations not applied yet. */
export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const [, pending] = (await knex.migrate.list({ migrationSource: source })) as [unknown[], string[]];
  return pending.map((p) => (typeof p === 'string' ? p : String((p as { file?: string }).file ?? p)));
}
