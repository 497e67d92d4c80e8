import type { Command } from 'commander';
import { addUser, listUsers, removeUser } from '../../db/access';
import { issueLink, safeNext, type LinkKind } from '../../db/login-tokens';
import type { Config } from '../../infra/config';
import { mailInvitation } from '../../infra/invitation-mail';
import { cliActor, withScope } from '../context';
import { commaList, durationHours, emailAddress, oneOf } from '../lib/options';
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

  users
    .command('invite')
    .description(
      'a one-time link where the user sets its password (printed; adds the user first with --org/--role)',
    )
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--email <email>', "the user's e-mail address")
    .option('--org <id>', 'add (or move) the user to this org first')
    .option('--role <role>', 'with this role (repeat for more); needs --org', collect)
    .option('--next <path>', 'the console page the user lands on after setting its password', '/')
    .action(async (o: { account: string; email: string; org?: string; role?: string[]; next: string }) => {
      const email = emailAddress(o.email, '--email');
      if ((o.org === undefined) !== (o.role === undefined))
        throw new Error('--org and --role: give both or neither');
      const next = linkNext(o.next);
      const { link, url, mailed } = await withScope(o.account, async (db, scope, config) => {
        const made = await db.transaction(async (trx) => {
          if (o.org && o.role)
            await addUser(trx, { accountId: o.account, email, org: o.org, roles: o.role, actor: cliActor() });
          const issued = await issueLink(trx, {
            accountId: o.account,
            email,
            kind: 'invite',
            next,
            ttlMs: config.inviteTtlMs,
            actor: cliActor(),
          });
          return { link: issued, url: linkUrl(config, 'invite', issued.token) };
        });
        // Mailed once the invitation is committed: a mail never names a link that does not exist.
        const mailed = config.smtpUrl
          ? await mailInvitation(
              db,
              { url: config.smtpUrl, from: config.mailFrom },
              {
                accountId: o.account,
                accountName: scope.accountName,
                email,
                linkId: made.link.id,
                url: made.url,
                expiresAt: made.link.expiresAt,
                invitedBy: cliActor(),
              },
            )
          : undefined;
        return { ...made, mailed };
      });
      console.log(`invitation for ${link.email} (valid once, until ${link.expiresAt}):\n${url}`);
      if (!mailed) console.log('not mailed: SMTP_URL is not set; hand the link over yourself');
      else if (mailed.status === 'sent') console.log(`mailed to ${link.email} (${mailed.detail})`);
      else
        console.log(
          `NOT mailed to ${link.email} (${mailed.status}: ${mailed.detail}); hand the link over yourself`,
        );
    });

  users
    .command('login-link')
    .description(
      'a one-time sign-in link for an existing user (operators, the demo); valid once, for --expires',
    )
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--email <email>', "the user's e-mail address")
    .option('--next <path>', 'the console page it lands on, e.g. /usage?month=2026-10', '/')
    .option('--expires <duration>', 'how long it stays valid (1h to 366d)', '1h')
    .action(async (o: { account: string; email: string; next: string; expires: string }) => {
      const email = emailAddress(o.email, '--email');
      const next = linkNext(o.next);
      const hours = durationHours(o.expires, '--expires');
      const { link, url } = await withScope(o.account, (db, _scope, config) =>
        db.transaction(async (trx) => {
          const issued = await issueLink(trx, {
            accountId: o.account,
            email,
            kind: 'login',
            next,
            ttlMs: hours * 3_600_000,
            actor: cliActor(),
          });
          return { link: issued, url: linkUrl(config, 'login', issued.token) };
        }),
      );
      console.log(`sign-in link for ${link.email} (valid once, until ${link.expiresAt}):\n${url}`);
    });
}

/** --next: a path of the console, refused with the flag's name otherwise. */
function linkNext(next: string): string {
  try {
    return safeNext(next);
  } catch {
    throw new Error(
      `--next "${next}" is not a path of the console; give one such as /usage or /cost?month=2026-10`,
    );
  }
}

/** Where the console is reached: ORGTALLY_PUBLIC_URL, else the address `orgtally serve` listens on. */
export function consoleUrl(config: Config): string {
  return config.publicUrl ?? `http://${config.httpHost}:${config.httpPort}`;
}

const linkUrl = (config: Config, kind: LinkKind, token: string) =>
  `${consoleUrl(config)}/${kind === 'invite' ? 'invite' : 'login'}/${token}`;
