import type { Command } from 'commander';
import { loadConfig } from '../../infra/config';
import { createDb } from '../../infra/db';
import { resolveDatabaseUrl } from '../../infra/stack';
import { ensureDatabase, migrateLatest } from '../../db/migrate';
import { log } from '../context';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('create the database if missing and apply pending migrations')
    .action(async () => {
      const url = resolveDatabaseUrl(loadConfig());
      if (await ensureDatabase(url)) log('database created');
      const db = createDb(url);
      try {
        const applied = await migrateLatest(db);
        log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
      } finally {
        await db.destroy();
      }
    });
}
