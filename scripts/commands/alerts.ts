import type { Command } from 'commander';
import { alertHistory, listAlertStates } from '../../db/alerts';
import { withDb } from '../context';
import { printRows } from '../lib/output';
import { requireAccount } from './estimates';

const iso = (d: Date | string | null) => (d === null ? '' : new Date(d).toISOString());

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer`);
  return n;
}

export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('alert rule states and notices');

  alerts
    .command('list')
    .description('the current state of every (rule, scope): firing only unless --all')
    .requiredOption('--account <id>', 'account id')
    .option('--all', 'every state, ok included')
    .option('--json', 'JSON lines')
    .action(async (o: { account: string; all?: boolean; json?: boolean }) => {
      const rows = await withDb(async (db) => {
        await requireAccount(db, o.account);
        return listAlertStates(db, o.account, { all: o.all === true });
      });
      printRows(rows, o.json, (r) => ({
        rule: r.rule_id,
        scope: r.scope_key,
        state: r.state,
        window: r.window ?? '',
        last_notified: iso(r.last_notified_at),
        message: r.message,
      }));
    });

  alerts
    .command('history')
    .description('alert notices (fire, renotify, resolve, retract), newest first, with their deliveries')
    .requiredOption('--account <id>', 'account id')
    .option('--limit <n>', 'at most n notices', '50')
    .option('--json', 'JSON lines')
    .action(async (o: { account: string; limit: string; json?: boolean }) => {
      const limit = positive(o.limit, '--limit');
      const rows = await withDb(async (db) => {
        await requireAccount(db, o.account);
        return alertHistory(db, o.account, { limit });
      });
      printRows(rows, o.json, (r) => ({
        as_of: iso(r.as_of),
        rule: r.rule_id,
        kind: r.kind,
        notify: r.notify,
        scope: r.scope_key,
        window: r.window,
        message: r.message,
        deliveries: (r.deliveries ?? []).map((d) => `${d.recipient}:${d.status}`).join(' '),
      }));
    });
}
