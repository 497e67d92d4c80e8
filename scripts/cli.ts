import { Command } from 'commander';
import { terminalSafe } from './lib/output';
import { registerAccount } from './commands/account';
import { registerBackfill } from './commands/backfill';
import { registerAlerts } from './commands/alerts';
import { registerConfig } from './commands/config';
import { registerDev } from './commands/dev';
import { registerIngest } from './commands/ingest';
import { registerMigrate } from './commands/migrate';
import { registerQuarantine } from './commands/quarantine';
import { registerRun } from './commands/run';
import { registerSchedules } from './commands/schedules';
import { registerWorker } from './commands/worker';

const program = new Command('orgtally').description(
  'billing and usage reporting for multi-organization accounts',
);
for (const register of [
  registerDev,
  registerConfig,
  registerMigrate,
  registerAccount,
  registerIngest,
  registerQuarantine,
  registerWorker,
  registerRun,
  registerAlerts,
  registerBackfill,
  registerSchedules,
]) {
  register(program);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as Error;
  console.error(`orgtally: ${terminalSafe(e.message)}`);
  if (process.env.ORGTALLY_DEBUG) console.error(e);
  process.exit(1);
});
