import os from 'node:os';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../infra/config';
import { connectClient } from '../infra/temporal';
import { createDb } from '../infra/db';
import { resolveDatabaseUrl, resolveEndpoints } from '../infra/stack';
import { ensureDatabase, migrateLatest, pendingMigrations } from '../db/migrate';
import { ALL_PERMISSIONS } from '../domain/access';
import { scopeOf, type Scope } from '../queries/scope';

export const log = (line: string) => process.stderr.write(`${line}\n`);

/** Who runs a command, as the audit log names it: whoever holds the database URL is an operator. */
export function cliActor(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli:unknown'; // a uid without a passwd entry (some containers)
  }
}

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

/** A command's database and the scope it reads: the account as its root org sees it (an operator's view). */
export async function withScope<T>(
  accountId: string,
  fn: (db: Knex, scope: Scope, config: Config) => Promise<T>,
): Promise<T> {
  return withDb(async (db, config) =>
    fn(
      db,
      await scopeOf(db, accountId, accountId, { permissions: ALL_PERMISSIONS, actor: cliActor() }),
      config,
    ),
  );
}

/** The instant a command computes for: --as-of, else now. The CLI is an edge: it may read the clock. */
export function asOfFrom(option: string | undefined): number {
  if (option === undefined) return Date.now();
  const ms = Date.parse(option);
  if (Number.isNaN(ms)) throw new Error(`--as-of "${option}" is not an ISO 8601 instant`);
  return ms;
}

/** A Temporal client for one command (TEMPORAL_ADDRESS or the local stack), closed after. */
export async function withClient<T>(fn: (client: Client, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await connectClient(resolveEndpoints(config).temporalAddress, config.temporalNamespace);
  try {
    return await fn(client, config);
  } finally {
    await client.connection.close();
  }
}
