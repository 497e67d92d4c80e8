/**
 * Who may see what: a caller of org O sees O and its descendants — never a sibling, never an ancestor — and
 * account-level figures (the account's totals, other orgs' shares) only from the account's root org. Pure rules;
 * queries/scope.ts applies them to an account's org tree.
 */
export interface OrgNode {
  public_id: string;
  parent: string | null;
}

/** `from` and every org below it. */
export function subtree(orgs: readonly OrgNode[], from: string): Set<string> {
  const children = new Map<string, string[]>();
  for (const o of orgs) {
    if (o.parent === null) continue;
    const list = children.get(o.parent);
    if (list) list.push(o.public_id);
    else children.set(o.parent, [o.public_id]);
  }
  const out = new Set<string>();
  const stack = orgs.some((o) => o.public_id === from) ? [from] : [];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (out.has(id)) continue; // a cycle cannot come from a valid spec; never loop on one
    out.add(id);
    stack.push(...(children.get(id) ?? []));
  }
  return out;
}

/**
 * Datadog's billing, usage, dashboard and user-access permissions, by their names; the ids are fixed so that a
 * client can keep them, as Datadog's are.
 */
export const PERMISSIONS = [
  {
    id: 'd762b62f-1462-4184-9371-45fd5b5d3d05',
    name: 'usage_read',
    group: 'Billing and Usage',
    display: 'Usage Read',
    description: 'View usage and usage attribution.',
  },
  {
    id: '8f46999e-a51f-4217-9966-c8f359a70543',
    name: 'usage_edit',
    group: 'Billing and Usage',
    display: 'Usage Edit',
    description: 'Manage usage attribution tag keys.',
  },
  {
    id: 'd69eea35-9a16-4a1a-afe3-da588871319e',
    name: 'billing_read',
    group: 'Billing and Usage',
    display: 'Billing Read',
    description: 'View billing: commitments, prices and costs.',
  },
  {
    id: 'bfcdbb3f-bdef-496b-b1a1-a850b570e489',
    name: 'billing_edit',
    group: 'Billing and Usage',
    display: 'Billing Edit',
    description: 'Manage commitments, prices and finance recipients.',
  },
  {
    id: '472ea437-5fd6-472d-b4c4-ce205b08fb6c',
    name: 'usage_notifications_read',
    group: 'Billing and Usage',
    display: 'Usage Notifications Read',
    description: 'View usage alert rules, their history and deliveries.',
  },
  {
    id: '0d420fd1-165e-4a1e-ba57-128ff4d4b6b8',
    name: 'usage_notifications_write',
    group: 'Billing and Usage',
    display: 'Usage Notifications Write',
    description: 'Manage usage alert rules and their recipients.',
  },
  {
    id: '4058f1ba-9335-43e1-b184-f3fefa13b08d',
    name: 'dashboards_read',
    group: 'Dashboards',
    display: 'Dashboards Read',
    description: 'View dashboards.',
  },
  {
    id: 'ec9a0c56-ede4-4f50-87ed-02d1d32684db',
    name: 'dashboards_write',
    group: 'Dashboards',
    display: 'Dashboards Write',
    description: 'Create and change dashboards.',
  },
  {
    id: 'b5f3d968-fd22-4268-b05a-27d5318d7d77',
    name: 'dashboards_public_share',
    group: 'Dashboards',
    display: 'Dashboards Public Share',
    description: 'Share dashboards through a link.',
  },
  {
    id: '55bf7da2-4fe3-446a-b8ed-1fc0b4902ddd',
    name: 'user_access_read',
    group: 'Access Management',
    display: 'User Access Read',
    description: 'View users, roles, permissions and the audit log.',
  },
  {
    id: 'e04dd8dc-6431-4768-bfd4-41a97b4f9401',
    name: 'user_access_manage',
    group: 'Access Management',
    display: 'User Access Manage',
    description: 'Manage users, roles and keys.',
  },
] as const;

export type Permission = (typeof PERMISSIONS)[number]['name'];
export const PERMISSION_NAMES = PERMISSIONS.map((p) => p.name) as [Permission, ...Permission[]];
export const ALL_PERMISSIONS: ReadonlySet<Permission> = new Set(PERMISSION_NAMES);

export const isPermission = (name: string): name is Permission =>
  (ALL_PERMISSIONS as ReadonlySet<string>).has(name);

/** Datadog's managed roles, as far as these permissions go: Standard and Read Only hold no billing or usage one. */
export const MANAGED_ROLES: Readonly<Record<string, readonly Permission[]>> = {
  admin: PERMISSION_NAMES,
  standard: ['dashboards_read', 'dashboards_write', 'dashboards_public_share', 'user_access_read'],
  read_only: ['dashboards_read', 'user_access_read'],
};
export const isManagedRole = (name: string) => Object.hasOwn(MANAGED_ROLES, name);

/** What one endpoint or command needs of its caller. */
export interface Requirement {
  /** Every one of these (cost: usage_read AND billing_read, as in Datadog). */
  readonly permissions: readonly Permission[];
  /** Account-level: only a caller of the account's root org. */
  readonly parentOnly: boolean;
}

/**
 * A key's permissions: the user's, narrowed to the key's scopes when it has any (a scope the user lacks grants
 * nothing — a key can never hold more than its user).
 */
export function keyPermissions(
  userPermissions: Iterable<string>,
  scopes: readonly string[] | null,
): Set<Permission> {
  const have = new Set([...userPermissions].filter(isPermission));
  if (scopes === null) return have;
  return new Set(scopes.filter((s): s is Permission => isPermission(s) && have.has(s)));
}

export const USAGE_READ: Requirement = { permissions: ['usage_read'], parentOnly: false };
export const PARENT_USAGE_READ: Requirement = { permissions: ['usage_read'], parentOnly: true };
/** Cost needs both, as in Datadog, and is the account's: the root org's. */
export const COST_READ: Requirement = { permissions: ['usage_read', 'billing_read'], parentOnly: true };

export const ALERTS_READ: Requirement = { permissions: ['usage_notifications_read'], parentOnly: false };
export const ALERTS_WRITE: Requirement = { permissions: ['usage_notifications_write'], parentOnly: false };
export const ACCESS_READ: Requirement = { permissions: ['user_access_read'], parentOnly: false };
export const ACCESS_MANAGE: Requirement = { permissions: ['user_access_manage'], parentOnly: false };
/** Tag keys are the account's: changing them restates every org, so only the root org may. */
export const USAGE_EDIT: Requirement = { permissions: ['usage_read', 'usage_edit'], parentOnly: true };

/** Sharing an org's dashboard: the sharer must see that usage itself (the org is checked against its scope). */
export const SHARE_MANAGE: Requirement = {
  permissions: ['usage_read', 'dashboards_public_share'],
  parentOnly: false,
};

/** Why a caller may not do something, or undefined when it may. */
export function denial(
  caller: { permissions: ReadonlySet<Permission>; parentLevel: boolean },
  need: Requirement,
): string | undefined {
  const missing = need.permissions.filter((p) => !caller.permissions.has(p));
  if (missing.length)
    return `this needs the permission${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  if (need.parentOnly && !caller.parentLevel)
    return "this is an account-level read: it needs a user of the account's root (parent) org";
  return undefined;
}
