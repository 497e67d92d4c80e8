import { Command } from 'commander';
import { registerAccount } from './commands/account';
import { registerAlerts } from './commands/alerts';
import { registerAudit } from './commands/audit';
import { registerBackfill } from './commands/backfill';
import { registerConfig } from './commands/config';
import { registerDashboards } from './commands/dashboards';
import { registerDev } from './commands/dev';
import { registerIngest } from './commands/ingest';
import { registerKeys } from './commands/keys';
import { registerMigrate } from './commands/migrate';
import { registerQuarantine } from './commands/quarantine';
import { registerRoles } from './commands/roles';
import { registerRun } from './commands/run';
import { registerSchedules } from './commands/schedules';
import { registerServe } from './commands/serve';
import { registerUsers } from './commands/users';
import { registerWorker } from './commands/worker';
import { finishHelp } from './lib/help';
import { setWide } from './lib/output';

/** The orgtally CLI: every verb, with help that marks required options and shows examples. */
export function buildProgram(): { program: Command; withoutExample: string[] } {
  const program = new Command('orgtally').description(
    'billing and usage reporting for multi-organization accounts',
  );
  program.option('--wide', 'tables show every column in full (default: fit 120 columns)');
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
    registerRoles,
    registerUsers,
    registerKeys,
    registerDashboards,
    registerAudit,
    registerServe,
  ]) {
    register(program);
  }
  program.hook('preAction', (_root, action) => setWide(action.optsWithGlobals().wide === true));
  return { program, withoutExample: finishHelp(program) };
}
