import type { Command } from 'commander';
import { accountIds } from '../../db/accounts';
import { auditRows } from '../../db/audit';
import { withDb } from '../context';
import { instant, oneOf, positiveInt } from '../lib/options';
import { instantText, LIST_FORMATS, printRows, records } from '../lib/output';

const json = (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(v));

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('the audit log: every change to access and accounts, who made it, before and after')
    .command('list')
    .description(
      'audit rows newest first: when, who (cli:<os user>, user:<email>, key:<id>), what, before → after',
    )
    .option('--account <id>', 'only this account')
    .option('--since <instant>', 'only rows from this ISO 8601 instant on')
    .option('--limit <n>', 'at most n rows', '50')
    .option('--format <format>', 'table | json', 'table')
    .action(async (o: { account?: string; since?: string; limit: string; format: string }) => {
      const format = oneOf(o.format, LIST_FORMATS, '--format');
      const limit = positiveInt(o.limit, '--limit');
      const since = o.since === undefined ? undefined : instant(o.since, '--since');
      const rows = await withDb(async (db) => {
        const found = await auditRows(db, { accountId: o.account, since, limit });
        // The log outlives what it names: an account's rows are shown even once it is gone, but a typo is told.
        if (!found.length && o.account !== undefined) {
          const known = await accountIds(db);
          if (!known.includes(o.account))
            throw new Error(
              `no account "${o.account}" (accounts: ${known.join(', ') || 'none yet: account apply'})`,
            );
        }
        return found;
      });
      if (format === 'json') return printRows(rows, true, (r) => ({ ...r }));
      console.log(
        records(
          rows.map((r) => ({
            id: r.id,
            at: instantText(r.at),
            account: r.account_id ?? '',
            actor: r.actor,
            action: r.action,
            target: r.target,
            change:
              [
                r.before === null ? '' : `before ${json(r.before)}`,
                r.after === null ? '' : `after ${json(r.after)}`,
              ]
                .filter(Boolean)
                .join(' → ') || '(no detail)',
          })),
          'change',
        ),
      );
    });
}
