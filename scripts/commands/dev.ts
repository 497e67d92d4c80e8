import type { Command } from 'commander';
import { loadConfig, redactUrl } from '../../infra/config';
import { ensureDatabase, migrateLatest } from '../../db/migrate';
import { createDb } from '../../infra/db';
import { stackDown, stackStatus, stackUp } from '../../infra/stack';
import { ensureTemporalCli, ensureTestServer } from '../../infra/tools';
import { log } from '../context';

export function registerDev(program: Command): void {
  const dev = program.command('dev').description('the local stack: embedded Postgres + Temporal dev server');
  dev
    .command('up')
    .description('start the local stack in the background (reused by every other command) and migrate')
    .action(async () => {
      const config = loadConfig();
      const state = await stackUp(config, log, { detached: true });
      const url = config.databaseUrl ?? state.postgres?.url;
      if (url) {
        await ensureDatabase(url);
        const db = createDb(url);
        try {
          const applied = await migrateLatest(db);
          log(applied.length ? `migrated: ${applied.join(', ')}` : 'schema up to date');
        } finally {
          await db.destroy();
        }
      }
      printStatus();
    });
  dev
    .command('down')
    .description('stop the local stack')
    .action(async () => stackDown(loadConfig(), log));
  dev
    .command('status')
    .description('where the local stack runs')
    .action(() => printStatus());
  dev
    .command('tools')
    .description('find or install the Temporal CLI and the time-skipping test server (what CI and tests use)')
    .action(async () => {
      const config = loadConfig();
      const cli = await ensureTemporalCli({ explicit: config.temporalCli, toolsDir: config.toolsDir, log });
      const ts = ensureTestServer({ toolsDir: config.toolsDir, log });
      console.log(JSON.stringify({ temporal: cli, temporal_test_server: ts }, null, 2));
    });
}

function printStatus(): void {
  const config = loadConfig();
  const s = stackStatus(config);
  const pg = config.databaseUrl
    ? 'DATABASE_URL (external)'
    : s.postgres
      ? `running, ${redactUrl(s.state?.postgres?.url)}`
      : 'stopped';
  const tp = config.temporalAddress
    ? `TEMPORAL_ADDRESS ${config.temporalAddress} (external)`
    : s.temporal
      ? `running, ${s.state?.temporal?.address}; Web UI ${s.state?.temporal?.uiUrl}`
      : 'stopped';
  console.log(`postgres: ${pg}\ntemporal: ${tp}`);
}
