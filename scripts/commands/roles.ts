import type { Command } from 'commander';
import { createRole, deleteRole, listRoles } from '../../db/access';
import { cliActor, withScope } from '../context';
import { oneOf, permissionList } from '../lib/options';
import { instantText, LIST_FORMATS, printRows, records } from '../lib/output';

/** An account's roles: the managed ones (admin, standard, read_only) and the custom ones made here or by a spec. */
export function registerRoles(program: Command): void {
  const roles = program.command('roles').description("an account's roles and their permissions");

  roles
    .command('create')
    .description('a custom role with these permissions (the managed roles cannot be made or changed)')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--name <name>', 'role name: lower-case letters, digits, _ . -')
    .requiredOption('--permissions <list>', 'comma-separated permission names, e.g. usage_read,billing_read')
    .action(async (o: { account: string; name: string; permissions: string }) => {
      const permissions = permissionList(o.permissions, '--permissions');
      const role = await withScope(o.account, (db) =>
        db.transaction((trx) =>
          createRole(trx, { accountId: o.account, name: o.name, permissions, actor: cliActor() }),
        ),
      );
      console.log(`role ${role.name} created in account ${o.account}: ${role.permissions.join(', ')}`);
    });

  roles
    .command('list')
    .description('every role of the account with its permissions and how many users hold it')
    .requiredOption('--account <id>', 'account id')
    .option('--format <format>', 'table | json', 'table')
    .action(async (o: { account: string; format: string }) => {
      const format = oneOf(o.format, LIST_FORMATS, '--format');
      const rows = await withScope(o.account, (db) => listRoles(db, o.account));
      if (format === 'json') return printRows(rows, true, (r) => ({ ...r }));
      console.log(
        records(
          rows.map((r) => ({
            name: r.name,
            kind: r.managed ? 'managed' : 'custom',
            users: `${r.user_count} user${r.user_count === 1 ? '' : 's'}`,
            updated: `updated ${instantText(r.updated_at)}`,
            permissions: r.permissions.join(', ') || '(none)',
          })),
          'permissions',
        ),
      );
    });

  roles
    .command('delete')
    .description('delete a custom role that no user holds')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--name <name>', 'role name (or id)')
    .action(async (o: { account: string; name: string }) => {
      const role = await withScope(o.account, (db) =>
        db.transaction((trx) => deleteRole(trx, { accountId: o.account, role: o.name, actor: cliActor() })),
      );
      console.log(`role ${role.name} deleted from account ${o.account}`);
    });
}
