import { createRole, deleteRole } from '../../db/access';
import { PERMISSION_NAMES } from '../../domain/access';
import type { Action } from '../page';
import { checked, invalid, lacking, ROLE_MANAGE } from './access-rules';

/** Custom roles: the account's, so created and deleted by the root org's managers only. */

export const createRoleAction: Action = {
  path: '/access/roles',
  need: ROLE_MANAGE,
  back: '/access',
  async handle(ctx) {
    const { db, scope, form } = ctx;
    const name = (form.name ?? '').trim();
    if (!name) throw invalid('name: give the role a name, e.g. finance-eu');
    const permissions = checked(form, 'perm_', PERMISSION_NAMES);
    const more = lacking(scope, permissions);
    if (more.length)
      throw invalid(
        `permissions: you cannot create a role with ${more.join(', ')}: you do not hold ${more.length > 1 ? 'them' : 'it'}`,
      );
    await db.transaction((trx) =>
      createRole(trx, { accountId: scope.accountId, name, permissions, actor: scope.actor }),
    );
    return { redirect: '/access?done=role-created' };
  },
};

export const deleteRoleAction: Action = {
  path: '/access/roles/delete',
  need: ROLE_MANAGE,
  back: '/access',
  async handle(ctx) {
    const { db, scope, form } = ctx;
    await db.transaction((trx) =>
      deleteRole(trx, { accountId: scope.accountId, role: form.role ?? '', actor: scope.actor }),
    );
    return { redirect: '/access?done=role-deleted' };
  },
};
