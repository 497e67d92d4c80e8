import type { Command } from 'commander';
import type { Knex } from 'knex';
import { listUsers, type UserRow } from '../../db/access';
import { accountIds } from '../../db/accounts';
import { createKey, listKeys, revokeKey } from '../../db/keys';
import { scopeOf } from '../../queries/scope';
import { cliActor, withDb, withScope } from '../context';
import { durationHours, emailAddress, oneOf, permissionList } from '../lib/options';
import { instantText, LIST_FORMATS, printRows, records } from '../lib/output';

/**
 * The user an e-mail names, and its account: --account when given, else the one account it is a user of (an
 * e-mail in several accounts must say which).
 */
async function findUser(
  db: Knex,
  email: string,
  account: string | undefined,
): Promise<UserRow & { account: string }> {
  const candidates = account === undefined ? await accountIds(db) : [account];
  if (account !== undefined) await scopeOf(db, account); // an unknown account says which exist
  const found: (UserRow & { account: string })[] = [];
  for (const id of candidates) {
    const user = (await listUsers(db, id)).find((u) => u.email === email);
    if (user) found.push({ ...user, account: id });
  }
  const [first] = found;
  if (account !== undefined && !first)
    throw new Error(`no user ${email} in account ${account} (users list --account ${account})`);
  if (!first) throw new Error(`${email} is not a user of any account (users add)`);
  if (found.length > 1)
    throw new Error(
      `${email} is a user of accounts ${found.map((u) => u.account).join(', ')}: say which with --account`,
    );
  return first;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description("API and application keys: a user's, acting as it");

  keys
    .command('create')
    .description('a new key pair for a user, printed once (orgtally keeps only their SHA-256 digests)')
    .requiredOption('--user <email>', "the key's user")
    .option('--account <id>', 'account id (default: the one account the user belongs to)')
    .option('--name <name>', 'a name to recognise the key by (default: "cli <date>")')
    .option(
      '--scopes <list>',
      "comma-separated permissions the key is narrowed to (default: all of its user's)",
    )
    .option('--expires <duration>', 'expire after 1h to 366d, e.g. 90d or 12h (default: never)')
    .option('--json', 'one JSON object {id, api_key, application_key, expires_at} and nothing else on stdout')
    .action(
      async (o: {
        user: string;
        account?: string;
        name?: string;
        scopes?: string;
        expires?: string;
        json?: boolean;
      }) => {
        const email = emailAddress(o.user, '--user');
        const scopes = o.scopes === undefined ? undefined : permissionList(o.scopes, '--scopes');
        const hours = o.expires === undefined ? undefined : durationHours(o.expires, '--expires');
        const name = o.name ?? `cli ${new Date().toISOString().slice(0, 10)}`;
        if (!name.trim()) throw new Error('--name must not be empty');
        const { user, key } = await withDb(async (db) => {
          const user = await findUser(db, email, o.account);
          const expiresAt =
            hours === undefined ? undefined : new Date(Date.now() + hours * 3_600_000).toISOString();
          const key = await db.transaction((trx) =>
            createKey(trx, { accountId: user.account, email, name, scopes, expiresAt, actor: cliActor() }),
          );
          return { user, key };
        });
        if (o.json) {
          console.log(
            JSON.stringify({
              id: key.id,
              api_key: key.api_key,
              application_key: key.application_key,
              expires_at: key.expires_at,
            }),
          );
          return;
        }
        console.log(
          [
            `key ${key.id} created for ${user.email} (account ${user.account}, org ${user.org})`,
            `  name:             ${name}`,
            `  scopes:           ${scopes ? [...scopes].sort().join(', ') : "all of the user's permissions"}`,
            `  expires:          ${key.expires_at ? instantText(key.expires_at) : 'never'}`,
            `  API key:          ${key.api_key}`,
            `  application key:  ${key.application_key}`,
            '',
            'These keys are shown only this once: orgtally stores only their digests. Keep them now;',
            `a lost key cannot be shown again (revoke it: keys revoke --account ${user.account} --id ${key.id}).`,
          ].join('\n'),
        );
      },
    );

  keys
    .command('list')
    .description(
      "an account's keys (never their secrets): hint, scopes, created, expires, revoked, last used",
    )
    .requiredOption('--account <id>', 'account id')
    .option('--user <email>', "only this user's keys")
    .option('--format <format>', 'table | json', 'table')
    .action(async (o: { account: string; user?: string; format: string }) => {
      const format = oneOf(o.format, LIST_FORMATS, '--format');
      const rows = await withScope(o.account, (db) => listKeys(db, o.account, o.user));
      if (format === 'json') return printRows(rows, true, (r) => ({ ...r }));
      const now = Date.now();
      const state = (k: (typeof rows)[number]) =>
        k.revoked_at !== null
          ? 'revoked'
          : k.expires_at !== null && Date.parse(k.expires_at) <= now
            ? 'expired'
            : 'active';
      console.log(
        records(
          rows.map((k) => ({
            id: k.id,
            user: k.email,
            name: k.name,
            hint: k.hint,
            state: state(k),
            detail: [
              `scopes ${k.scopes ? k.scopes.join(', ') : "(all of the user's)"}`,
              `created ${instantText(k.created_at)}`,
              `expires ${k.expires_at ? instantText(k.expires_at) : 'never'}`,
              ...(k.revoked_at ? [`revoked ${instantText(k.revoked_at)}`] : []),
              `last used ${k.last_used_at ? instantText(k.last_used_at) : 'never'}`,
            ].join('; '),
          })),
          'detail',
        ),
      );
    });

  keys
    .command('revoke')
    .description('revoke a key: it is refused from the next request on')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--id <id>', 'key id (keys list)')
    .action(async (o: { account: string; id: string }) => {
      const key = await withScope(o.account, (db) =>
        db.transaction((trx) => revokeKey(trx, { accountId: o.account, id: o.id, actor: cliActor() })),
      );
      if (key.revoked_at !== null)
        console.log(
          `key ${key.id} (${key.email}, ${key.name}) was revoked already, at ${instantText(key.revoked_at)}`,
        );
      else console.log(`key ${key.id} (${key.email}, ${key.name}) revoked`);
    });
}
