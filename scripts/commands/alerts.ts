import type { Command } from 'commander';
import { alertNotices, alertStates } from '../../queries/alerts';
import { withScope } from '../context';
import { positiveInt } from '../lib/options';
import { printRows, records } from '../lib/output';

const iso = (d: Date | string | null) => (d === null ? '' : new Date(d).toISOString());

export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('alert rule states and notices');

  alerts
    .command('list')
    .description('the current state of every (rule, scope): firing only unless --all')
    .requiredOption('--account <id>', 'account id')
    .option('--all', 'every state, ok included')
    .option('--json', 'JSON lines')
    .action(async (o: { account: string; all?: boolean; json?: boolean }) => {
      const rows = await withScope(o.account, (db, scope) => alertStates(db, scope, { all: o.all === true }));
      if (o.json) return printRows(rows, true, (r) => ({ ...r }));
      console.log(
        records(
          rows.map((r) => ({
            rule: r.rule_id,
            scope: r.scope_key,
            state: r.state,
            window: r.window ?? '',
            last_notified: iso(r.last_notified_at),
            message: r.message,
          })),
          'message',
        ),
      );
    });

  alerts
    .command('history')
    .description('alert notices (fire, renotify, resolve, retract), newest first, with their deliveries')
    .requiredOption('--account <id>', 'account id')
    .option('--limit <n>', 'at most n notices', '50')
    .option('--json', 'JSON lines')
    .action(async (o: { account: string; limit: string; json?: boolean }) => {
      const limit = positiveInt(o.limit, '--limit');
      const rows = await withScope(o.account, (db, scope) => alertNotices(db, scope, { limit }));
      if (o.json) return printRows(rows, true, (r) => ({ ...r }));
      console.log(
        records(
          rows.map((r) => ({
            as_of: iso(r.as_of),
            rule: r.rule_id,
            notify: r.notify,
            deliveries: (r.deliveries ?? []).map((d) => `${d.recipient}:${d.status}`).join(' '),
            scope: r.scope_key,
            window: r.window,
            kind: r.kind,
            message: r.message,
          })),
          'message',
        ),
      );
    });
}
