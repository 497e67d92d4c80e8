import type { Command } from 'commander';
import { addUser, listUsers, removeUser } from '../../db/access';
import { cliActor, withScope } from '../context';
import { commaList, emailAddress, oneOf } from '../lib/options';
import { instantText, LIST_FORMATS, printRows } from '../lib/output';

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), ...commaList(value)];

/** An account's users: an e-mail in one org with roles; its keys act as it. */
export function registerUsers(program: Command): void {
  const users = program.command('users').description("an account's users, their org and roles");

  users
    .command('add')
    .description('make the user exist in the org with (at least) these roles; again: "no changes"')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--email <email>', "the user's e-mail address")
    .requiredOption('--org <id>', 'the org the user belongs to (it sees that org and the orgs below it)')
    .requiredOption(
      '--role <role>',
      'a role (admin, standard, read_only or a custom one); repeat for more',
      collect,
    )
    .action(async (o: { account: string; email: string; org: string; role: string[] }) => {
      const email = emailAddress(o.email, '--email');
      const result = await withScope(o.account, (db) =>
        db.transaction(async (trx) => {
          const existed = (await listUsers(trx, o.account)).some((u) => u.email === email);
          const r = await addUser(trx, {
            accountId: o.account,
            email,
            org: o.org,
            roles: o.role,
            actor: cliActor(),
          });
          return { ...r, existed };
        }),
      );
      const u = result.user;
      if (!result.changed) console.log(`user ${u.email} in account ${o.account}: no changes`);
      else
        console.log(
          `user ${u.email} ${result.existed ? 'updated' : 'added'} in account ${o.account}: ` +
            `org ${u.org}, roles ${u.roles.join(', ')}`,
        );
    });

  users
    .command('list')
    .description('every user of the account with its org, roles and active keys')
    .requiredOption('--account <id>', 'account id')
    .option('--format <format>', 'table | json', 'table')
    .action(async (o: { account: string; format: string }) => {
      const format = oneOf(o.format, LIST_FORMATS, '--format');
      const rows = await withScope(o.account, (db) => listUsers(db, o.account));
      printRows(rows, format === 'json', (u) => ({
        email: u.email,
        org: u.org,
        roles: u.roles.join(', '),
        keys: u.keys,
        created: instantText(u.created_at),
      }));
    });

  users
    .command('remove')
    .description('remove the user with its roles and keys (the keys stop working on the next request)')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--email <email>', "the user's e-mail address")
    .action(async (o: { account: string; email: string }) => {
      const user = await withScope(o.account, (db) =>
        db.transaction((trx) => removeUser(trx, { accountId: o.account, email: o.email, actor: cliActor() })),
      );
      console.log(
        `user ${user.email} removed from account ${o.account}` +
          (user.keys ? ` with its ${user.keys} active key${user.keys > 1 ? 's' : ''}` : ''),
      );
    });
}
