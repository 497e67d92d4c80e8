import type { Command } from 'commander';
import type { ShareRow } from '../../db/shares';
import { ALL_PERMISSIONS } from '../../domain/access';
import { ErrorType, OrgtallyError } from '../../domain/errors';
import { scopeOf } from '../../queries/scope';
import { shareJson, sharedUrl } from '../../queries/share-json';
import {
  changeShare,
  revokeSharedDashboard,
  rotateShareToken,
  shareDashboard,
  shareOf,
  sharesInScope,
} from '../../queries/shares';
import { cliActor, withDb, withScope } from '../context';
import { commaList } from '../lib/options';
import { instantText, records } from '../lib/output';
import { asShareOptions, expiryOption, inviteOptions, lockOptions } from '../lib/share-options';
import { consoleUrl } from './users';

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const collectList = (value: string, previous: string[] | undefined) => [
  ...(previous ?? []),
  ...commaList(value),
];

/** Shared dashboards: a link to one org's usage dashboard, open or invite-only, with locked filters. */
export function registerDashboards(program: Command): void {
  const dashboards = program
    .command('dashboards')
    .description("shared dashboards: a link to one org's usage dashboard for people without an account");

  dashboards
    .command('share')
    .description("share an org's dashboard: prints its link once (orgtally keeps only the digest)")
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--org <id>', 'the org whose dashboard is shared')
    .option('--title <title>', 'what the viewer sees as its title (default: "<org name> usage")')
    .option('--expires <when>', 'a duration (30d, 12h; 1h to 366d) or an ISO 8601 date-time (default: 365d)')
    .option(
      '--lock <key=value>',
      'lock the tag breakdown to one value of a tag key, e.g. env=prod; repeat for more',
      collect,
    )
    .option('--invite <email>', 'invite-only, for this address; repeat (or a,b) for more', collectList)
    .option('--show-cost', 'show cost as well as usage (default: usage only)')
    .option('--no-commitment', 'hide the commitment lines')
    .option('--json', "one JSON object (the API's SharedDashboard, with token and public_url) on stdout")
    .action(
      async (o: {
        account: string;
        org: string;
        title?: string;
        expires?: string;
        lock?: string[];
        invite?: string[];
        showCost?: boolean;
        commitment: boolean;
        json?: boolean;
      }) => {
        const now = Date.now();
        // Every option is checked before the database is opened: a bad one writes nothing.
        const request = {
          org: o.org,
          title: o.title,
          locks: lockOptions(o.lock ?? []),
          showCost: o.showCost === true,
          showCommitment: o.commitment,
          expiresAt: o.expires === undefined ? undefined : expiryOption(o.expires, now),
          invitees: o.invite && inviteOptions(o.invite),
        };
        const { share, token, publicUrl } = await withScope(o.account, async (db, scope, config) => ({
          ...(await shareDashboard(db, scope, request, now).catch(asShareOptions)),
          publicUrl: consoleUrl(config),
        }));
        if (o.json) return console.log(JSON.stringify(shareJson(share, { publicUrl, token })));
        console.log(
          [
            `shared dashboard ${share.id} created for org ${share.org} (${share.org_name}), account ${o.account}`,
            ...details(share),
            `  link:       ${sharedUrl(publicUrl, token)}`,
            '',
            ...onceNote(share, o.account),
          ].join('\n'),
        );
      },
    );

  dashboards
    .command('list')
    .description("the account's shared dashboards in every state (never their links), oldest first")
    .requiredOption('--account <id>', 'account id')
    .option('--org <id>', 'only the shares of this org and the orgs below it')
    .option('--json', "JSON lines: the API's SharedDashboard of each (no token)")
    .action(async (o: { account: string; org?: string; json?: boolean }) => {
      const { rows, publicUrl } = await withDb(async (db, config) => {
        // --org narrows the scope itself, so the scoped query decides which shares it holds.
        const scope = await scopeOf(db, o.account, o.org ?? o.account, {
          permissions: ALL_PERMISSIONS,
          actor: cliActor(),
        });
        return { rows: await sharesInScope(db, scope), publicUrl: consoleUrl(config) };
      });
      if (o.json) {
        for (const s of rows) console.log(JSON.stringify(shareJson(s, { publicUrl })));
        return;
      }
      console.log(
        records(
          rows.map((s) => ({
            id: s.id,
            org: s.org,
            type: s.share_type,
            state: s.state,
            title: s.title,
            detail: [
              `expires ${instantText(s.expires_at)}`,
              `last accessed ${s.last_accessed_at ? instantText(s.last_accessed_at) : 'never'}`,
              `${s.invitees.length} invitee${s.invitees.length === 1 ? '' : 's'}` +
                (s.invitees.length ? ` (${s.invitees.map((i) => i.email).join(', ')})` : ''),
              `locks ${lockText(s)}`,
              `cost ${s.show_cost ? 'shown' : 'hidden'}`,
              ...(s.revoked_at ? [`revoked ${instantText(s.revoked_at)}`] : []),
            ].join('; '),
          })),
          'detail',
        ),
      );
    });

  for (const [verb, status, done] of [
    ['pause', 'paused', 'paused: its link opens nothing until it is resumed'],
    ['resume', 'active', 'resumed: its link opens the dashboard again'],
  ] as const)
    dashboards
      .command(`${verb} <share>`)
      .description(`${verb} a shared dashboard, by its id or its link's token`)
      .requiredOption('--account <id>', 'account id')
      .action(async (handle: string, o: { account: string }) => {
        const { before, after } = await withScope(o.account, async (db, scope) => {
          const before = await shareOf(db, scope, handle).catch(listHint(o.account));
          if (before.status === status) return { before, after: before };
          return { before, after: await changeShare(db, scope, before.id, { status }, Date.now()) };
        });
        const name = `shared dashboard ${after.id} ("${after.title}", org ${after.org})`;
        if (before === after)
          return console.log(`${name} was ${status === 'paused' ? 'paused' : 'active'} already`);
        console.log(
          `${name} ${done}` +
            (after.state === 'expired' ? ` — but it expired at ${instantText(after.expires_at)}` : ''),
        );
      });

  dashboards
    .command('revoke <share>')
    .description('revoke a shared dashboard for good, by its id or its token (it stays in the list)')
    .requiredOption('--account <id>', 'account id')
    .action(async (handle: string, o: { account: string }) => {
      const s = await withScope(o.account, (db, scope) =>
        revokeSharedDashboard(db, scope, handle).catch(listHint(o.account)),
      );
      console.log(`shared dashboard ${s.id} ("${s.title}", org ${s.org}) revoked: its link opens nothing`);
    });

  dashboards
    .command('rotate <share>')
    .description('a new link for a shared dashboard (the old one stops working), printed once')
    .requiredOption('--account <id>', 'account id')
    .option('--json', "one JSON object (the API's SharedDashboard, with the new token and public_url)")
    .action(async (handle: string, o: { account: string; json?: boolean }) => {
      const { share, token, publicUrl } = await withScope(o.account, async (db, scope, config) => ({
        ...(await rotateShareToken(db, scope, handle).catch(listHint(o.account))),
        publicUrl: consoleUrl(config),
      }));
      if (o.json) return console.log(JSON.stringify(shareJson(share, { publicUrl, token })));
      console.log(
        [
          `shared dashboard ${share.id} ("${share.title}", org ${share.org}): new link; the old one opens nothing`,
          `  link:       ${sharedUrl(publicUrl, token)}`,
          '',
          ...onceNote(share, o.account),
        ].join('\n'),
      );
    });
}

function details(s: ShareRow): string[] {
  return [
    `  title:      ${s.title}`,
    `  shared:     ${s.share_type === 'invite' ? `invited only: ${s.invitees.map((i) => i.email).join(', ')}` : 'anyone with the link'}`,
    `  locks:      ${lockText(s)}`,
    `  shows:      usage${s.show_cost ? ', cost' : ''}${s.show_commitment ? ', commitment' : ''}`,
    `  expires:    ${instantText(s.expires_at)}`,
  ];
}

const lockText = (s: ShareRow) =>
  Object.entries(s.locks)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ') || 'none';

const onceNote = (s: ShareRow, account: string) => [
  'This link is shown only this once: orgtally keeps only its digest. Lost or leaked, get a new one',
  `(the old one stops working): orgtally dashboards rotate ${s.id} --account ${account}`,
];

/** An unknown share says where the ids are. */
const listHint = (account: string) => (err: unknown) => {
  if (
    err instanceof OrgtallyError &&
    err.type === ErrorType.NotFound &&
    /^no shared dashboard/.test(err.message)
  )
    throw new OrgtallyError(err.type, `${err.message} (dashboards list --account ${account})`, {
      cause: err,
    });
  throw err;
};
