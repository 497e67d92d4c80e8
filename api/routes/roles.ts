import { z } from 'zod';
import { createRole, deleteRole, findRole, listRoles, updateRole, type RoleRow } from '../../db/access';
import { PERMISSIONS, type Permission, type Requirement } from '../../domain/access';
import { ddTime, intParam } from '../params';
import { route } from '../route';
import { invalid } from '../schemas';

/** Datadog's permissions and roles. Roles are the account's: changing them is for the root org's admins. */
const READ: Requirement = { permissions: ['user_access_read'], parentOnly: false };
const MANAGE: Requirement = { permissions: ['user_access_manage'], parentOnly: true };
const EPOCH = ddTime('2026-01-01T00:00:00Z');

const permissionItem = z.object({
  id: z.string(),
  type: z.literal('permissions'),
  attributes: z.object({
    name: z.string(),
    display_name: z.string(),
    description: z.string(),
    group_name: z.string(),
    display_type: z.string(),
    created: z.string(),
    restricted: z.boolean(),
  }),
});
const permissionOf = (p: (typeof PERMISSIONS)[number]) => ({
  id: p.id,
  type: 'permissions' as const,
  attributes: {
    name: p.name,
    display_name: p.display,
    description: p.description,
    group_name: p.group,
    display_type: /_(read)$/.test(p.name) ? 'read' : 'write',
    created: EPOCH,
    restricted: false,
  },
});
const ref = z.object({ id: z.string(), type: z.literal('permissions') });
const roleItem = z.object({
  id: z.string(),
  type: z.literal('roles'),
  attributes: z.object({
    name: z.string(),
    managed: z.boolean(),
    created_at: z.string(),
    modified_at: z.string(),
    user_count: z.number().int(),
  }),
  relationships: z.object({ permissions: z.object({ data: z.array(ref) }) }),
});
const idOf = new Map(PERMISSIONS.map((p) => [p.name as string, p.id]));
const nameOf = new Map(PERMISSIONS.map((p) => [p.id as string, p.name]));
const roleOf = (r: RoleRow) => ({
  id: r.id,
  type: 'roles' as const,
  attributes: {
    name: r.name,
    managed: r.managed,
    created_at: ddTime(r.created_at),
    modified_at: ddTime(r.updated_at),
    user_count: r.user_count,
  },
  relationships: {
    permissions: {
      data: r.permissions.map((p) => ({ id: idOf.get(p) as string, type: 'permissions' as const })),
    },
  },
});
const permissionsOfRole = (r: RoleRow) =>
  PERMISSIONS.filter((p) => r.permissions.includes(p.name)).map(permissionOf);

/** Permission references by id (Datadog) or by name (people). */
function permissionNames(refs: readonly { id: string }[], at: string): Permission[] {
  return refs.map((r, i) => {
    const name = nameOf.get(r.id) ?? (idOf.has(r.id) ? (r.id as Permission) : undefined);
    if (!name)
      throw invalid(`${at}[${i}].id: "${r.id}" is not a permission (GET /api/v2/permissions lists them)`);
    return name;
  });
}

const roleParams = z.strictObject({ role_id: z.string() });
const permissionBody = z.object({ data: z.object({ id: z.string(), type: z.literal('permissions') }) });
const relationships = z.object({ permissions: z.object({ data: z.array(ref) }) }).optional();

export const roleRoutes = [
  route({
    method: 'GET',
    url: '/api/v2/permissions',
    operationId: 'ListPermissions',
    summary: 'The permissions orgtally knows (Datadog’s names)',
    group: 'roles',
    auth: 'key_pair',
    need: READ,
    query: z.strictObject({}),
    response: z.object({ data: z.array(permissionItem) }),
    handle: async () => ({ data: PERMISSIONS.map(permissionOf) }),
  }),
  route({
    method: 'GET',
    url: '/api/v2/roles',
    operationId: 'ListRoles',
    summary: 'The account’s roles: managed (admin, standard, read_only) and custom',
    group: 'roles',
    auth: 'key_pair',
    need: READ,
    query: z.strictObject({
      'page[size]': intParam(1, 100).optional(),
      'page[number]': intParam(0, 1_000_000).optional(),
      sort: z.enum(['name', '-name', 'modified_at', '-modified_at', 'user_count', '-user_count']).optional(),
      filter: z.string().optional(),
      'filter[id]': z.string().optional(),
    }),
    response: z.object({
      data: z.array(roleItem),
      meta: z.object({
        page: z.object({ total_count: z.number().int(), total_filtered_count: z.number().int() }),
      }),
    }),
    handle: async ({ db, scope, query: q }) => {
      const all = await listRoles(db, scope.accountId);
      const ids = q['filter[id]']?.split(',');
      let roles = all.filter(
        (r) =>
          (q.filter === undefined || r.name.includes(q.filter.toLowerCase())) && (!ids || ids.includes(r.id)),
      );
      const sort = q.sort ?? 'name';
      const key = sort.replace(/^-/, '') as 'name' | 'modified_at' | 'user_count';
      const val = (r: RoleRow) =>
        key === 'name' ? r.name : key === 'user_count' ? r.user_count : r.updated_at;
      roles = [...roles].sort(
        (a, b) => (val(a) < val(b) ? -1 : val(a) > val(b) ? 1 : 0) * (sort.startsWith('-') ? -1 : 1),
      );
      const size = q['page[size]'] ?? 10;
      const page = q['page[number]'] ?? 0;
      return {
        data: roles.slice(page * size, page * size + size).map(roleOf),
        meta: { page: { total_count: all.length, total_filtered_count: roles.length } },
      };
    },
  }),
  route({
    method: 'POST',
    url: '/api/v2/roles',
    operationId: 'CreateRole',
    summary: 'Create a custom role',
    group: 'roles',
    auth: 'key_pair',
    need: MANAGE,
    body: z.object({
      data: z.object({ type: z.literal('roles'), attributes: z.object({ name: z.string() }), relationships }),
    }),
    response: z.object({ data: roleItem }),
    handle: async ({ db, scope, body }) => {
      const permissions = permissionNames(
        body.data.relationships?.permissions.data ?? [],
        'data.relationships.permissions.data',
      );
      const r = await db.transaction((trx) =>
        createRole(trx, {
          accountId: scope.accountId,
          name: body.data.attributes.name,
          permissions,
          actor: scope.actor,
        }),
      );
      return { data: roleOf(r) };
    },
  }),
  route({
    method: 'GET',
    url: '/api/v2/roles/:role_id',
    operationId: 'GetRole',
    summary: 'One role',
    group: 'roles',
    auth: 'key_pair',
    need: READ,
    params: roleParams,
    query: z.strictObject({}),
    response: z.object({ data: roleItem }),
    handle: async ({ db, scope, params }) => ({
      data: roleOf(await findRole(db, scope.accountId, params.role_id)),
    }),
  }),
  route({
    method: 'PATCH',
    url: '/api/v2/roles/:role_id',
    operationId: 'UpdateRole',
    summary: 'Rename a custom role or set its permissions',
    group: 'roles',
    auth: 'key_pair',
    need: MANAGE,
    params: roleParams,
    body: z.object({
      data: z.object({
        id: z.string(),
        type: z.literal('roles'),
        attributes: z.object({ name: z.string().optional() }).optional(),
        relationships,
      }),
    }),
    response: z.object({ data: roleItem }),
    handle: async ({ db, scope, params, body }) => {
      if (body.data.id !== params.role_id) throw invalid('data.id: must be the role of the path');
      const rel = body.data.relationships?.permissions.data;
      const r = await db.transaction((trx) =>
        updateRole(trx, {
          accountId: scope.accountId,
          role: params.role_id,
          name: body.data.attributes?.name,
          permissions: rel ? permissionNames(rel, 'data.relationships.permissions.data') : undefined,
          actor: scope.actor,
        }),
      );
      return { data: roleOf(r) };
    },
  }),
  route({
    method: 'DELETE',
    url: '/api/v2/roles/:role_id',
    operationId: 'DeleteRole',
    summary: 'Delete a custom role that no user holds',
    group: 'roles',
    auth: 'key_pair',
    need: MANAGE,
    params: roleParams,
    status: 204,
    response: z.undefined(),
    handle: async ({ db, scope, params }) => {
      await db.transaction((trx) =>
        deleteRole(trx, { accountId: scope.accountId, role: params.role_id, actor: scope.actor }),
      );
      return undefined;
    },
  }),
  route({
    method: 'GET',
    url: '/api/v2/roles/:role_id/permissions',
    operationId: 'ListRolePermissions',
    summary: 'The permissions of a role',
    group: 'roles',
    auth: 'key_pair',
    need: READ,
    params: roleParams,
    query: z.strictObject({}),
    response: z.object({ data: z.array(permissionItem) }),
    handle: async ({ db, scope, params }) => ({
      data: permissionsOfRole(await findRole(db, scope.accountId, params.role_id)),
    }),
  }),
  ...(['POST', 'DELETE'] as const).map((method) =>
    route({
      method,
      url: '/api/v2/roles/:role_id/permissions',
      operationId: method === 'POST' ? 'AddPermissionToRole' : 'RemovePermissionFromRole',
      summary:
        method === 'POST' ? 'Grant a permission to a custom role' : 'Take a permission from a custom role',
      group: 'roles',
      auth: 'key_pair',
      need: MANAGE,
      params: roleParams,
      body: permissionBody,
      response: z.object({ data: z.array(permissionItem) }),
      handle: async ({ db, scope, params, body }) => {
        const [p] = permissionNames([body.data], 'data');
        const r = await db.transaction(async (trx) => {
          const cur = await findRole(trx, scope.accountId, params.role_id);
          const permissions =
            method === 'POST'
              ? [...cur.permissions, p as Permission]
              : cur.permissions.filter((x) => x !== p);
          return updateRole(trx, {
            accountId: scope.accountId,
            role: cur.id,
            permissions,
            actor: scope.actor,
          });
        });
        return { data: permissionsOfRole(r) };
      },
    }),
  ),
];
