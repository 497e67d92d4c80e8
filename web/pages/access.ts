import { listRoles } from '../../db/access';
import { consoleKeys, consoleUsers } from '../../db/console-access';
import { ACCESS_MANAGE, ACCESS_READ, denial } from '../../domain/access';
import { orgFilter } from '../../queries/scope';
import { html } from '../html';
import { notice, refusal } from '../layout';
import type { Action, Page } from '../page';
import { oneOf } from '../params';
import { auditFor } from './access-audit';
import { inviteForm, keyForm, roleForm, sent } from './access-forms';
import { createKeyAction, revokeKeyAction } from './access-keys';
import { createRoleAction, deleteRoleAction } from './access-roles';
import { lacking, ROLE_MANAGE } from './access-rules';
import { auditTable, keysTable, roleGrid, rowButton, usersTable } from './access-tables';
import { inviteAction, removeUserAction } from './access-users';

/**
 * Access: the users and keys of the caller's orgs, the account's roles as a permission grid, and the audit log
 * (access-audit.ts says which rows a child org sees). Managers get the forms; what each may do is in
 * access-rules.ts.
 */
const DONE = {
  none: undefined,
  'user-removed': 'The user was removed. Its keys stopped working and its sessions ended.',
  'role-created': 'The role was created. Grant it by inviting a user with it.',
  'role-deleted': 'The role was deleted.',
  'key-revoked': 'The key was revoked: it stops working on its next request.',
} as const;

export const accessPages: Page[] = [
  {
    path: '/access',
    nav: 'Access',
    need: ACCESS_READ,
    async render(ctx) {
      const { db, scope, query, csrf } = ctx;
      const done = oneOf(query, 'done', Object.keys(DONE) as (keyof typeof DONE)[], 'none');
      const orgs = orgFilter(scope);
      const [users, roles, keys] = await Promise.all([
        consoleUsers(db, scope.accountId, orgs),
        listRoles(db, scope.accountId),
        consoleKeys(db, scope.accountId, orgs),
      ]);
      const audit = await auditFor(ctx, users, keys);
      const manage = !denial(scope, ACCESS_MANAGE);
      const roleManage = !denial(scope, ROLE_MANAGE);
      const me = ctx.email.trim().toLowerCase();
      // Buttons only where the action would be allowed (the actions check again).
      const mayTouch = (perms: readonly string[]) => lacking(scope, perms).length === 0;
      const perms = new Map(users.map((u) => [u.email, u.permissions]));
      const rowError = sent(ctx, 'row').error;
      return {
        title: 'Access',
        body: html`${notice(DONE[done])} ${refusal(rowError)}
          <h2>Users</h2>
          ${usersTable(
            users,
            scope.orgs,
            manage
              ? (u) =>
                  u.email !== me && mayTouch(u.permissions)
                    ? rowButton(
                        csrf,
                        '/access/users/remove',
                        { form: 'row', email: u.email },
                        html`Remove<span class="visually-hidden"> ${u.email}</span>`,
                      )
                    : html``
              : undefined,
          )}
          ${
            manage
              ? html`<h3>Invite a user</h3>
                  ${inviteForm(
                    ctx,
                    roles.filter((r) => mayTouch(r.permissions)),
                  )}`
              : ''
          }
          <h2>Roles</h2>
          ${roleGrid(
            roles,
            scope.parentLevel,
            roleManage
              ? (r) =>
                  rowButton(
                    csrf,
                    '/access/roles/delete',
                    { form: 'row', role: r.name },
                    html`Delete<span class="visually-hidden"> role ${r.name}</span>`,
                  )
              : undefined,
          )}
          ${
            roleManage
              ? html`<h3>Create a custom role</h3>
                  ${roleForm(ctx)}`
              : ''
          }
          <h2>Keys</h2>
          ${keysTable(
            keys,
            manage
              ? (k) =>
                  k.email === me || mayTouch(perms.get(k.email) ?? [])
                    ? rowButton(
                        csrf,
                        '/access/keys/revoke',
                        { form: 'row', id: k.id },
                        html`Revoke<span class="visually-hidden"> key ${k.name} of ${k.email}</span>`,
                      )
                    : html``
              : undefined,
          )}
          ${
            manage
              ? html`<h3>Create a key for yourself</h3>
                  ${keyForm(ctx)}`
              : ''
          }
          <h2>Audit log</h2>
          ${
            scope.parentLevel
              ? ''
              : html`<p class="hint">The changes to the users and keys of your organizations.</p>`
          }
          ${auditTable(audit)}`,
      };
    },
  },
];

export const accessActions: Action[] = [
  inviteAction,
  removeUserAction,
  createRoleAction,
  deleteRoleAction,
  createKeyAction,
  revokeKeyAction,
];
