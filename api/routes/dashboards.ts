import { z } from 'zod';
import type { ShareRow } from '../../db/shares';
import { SHARE_MANAGE } from '../../domain/access';
import { ErrorType, OrgtallyError } from '../../domain/errors';
import { shareJson } from '../../queries/share-json';
import {
  changeShare,
  DEFAULT_SHARE_TTL_MS,
  revokeSharedDashboard,
  rotateShareToken,
  shareDashboard,
  shareOf,
  sharesInScope,
} from '../../queries/shares';
import { route } from '../route';
import { invalid } from '../schemas';

/**
 * Datadog's shared-dashboard endpoints (v1 DashboardsApi: create/get/update/deletePublicDashboard), plus
 * orgtally's own list and token rotation. A share is of one org's usage dashboard: `dashboard_id` is the org's
 * public id. Who may share what is checked in queries/shares.ts; these routes only translate Datadog's fields.
 */
const BASE = '/api/v1/dashboard/public';

const dashboardType = z.enum(['custom_timeboard', 'custom_screenboard'], {
  error: 'must be custom_timeboard or custom_screenboard',
});
const shareType = z.enum(['open', 'invite'], {
  error: (iss) =>
    iss.input === 'embed'
      ? 'orgtally does not embed dashboards in other sites: use open (anyone with the link) or invite'
      : 'must be open or invite',
});
const invitee = z.strictObject({
  email: z.string(),
  access_expiration: z.string().nullable().optional(),
  created_at: z.string().optional().describe('read-only: ignored'),
});
const templateVar = z.strictObject({
  name: z.string().describe('the tag key the filter is locked on'),
  default_value: z.string().nullable().optional().describe('the one value the viewer sees'),
  prefix: z.string().nullable().optional().describe('the tag key: the name, if given'),
  visible_tags: z.array(z.string()).nullable().optional().describe('at most the default_value'),
  type: z.string().nullable().optional().describe('ignored'),
});

// Datadog's fields orgtally has no use for: taken (so a script written for Datadog runs) and ignored. Any other
// unknown field is a 400 naming it, as in orgtally's own bodies: a mistyped show_cost must not pass silently.
const ignore = z.unknown().optional().describe('accepted and ignored');
const DATADOG_IGNORED = {
  global_time: ignore,
  global_time_selectable_enabled: ignore,
  embeddable_domains: ignore,
  share_list: ignore,
  viewing_preferences: ignore,
};
// What the server sent with a share, should a client send a share back as it got it.
const READ_ONLY = {
  author: ignore,
  created: ignore,
  last_accessed: ignore,
  public_url: ignore,
  token: ignore,
  id: ignore,
  state: ignore,
  org_name: ignore,
};

const shared = {
  title: z.string().nullable().optional(),
  share_type: shareType.nullable().optional(),
  expiration: z
    .string()
    .nullable()
    .optional()
    .describe('ISO 8601 date-time; null or absent: a year from now'),
  invitees: z.array(invitee).nullable().optional(),
  selectable_template_vars: z.array(templateVar).nullable().optional().describe('locked filters'),
  show_cost: z
    .boolean()
    .optional()
    .describe('orgtally: show cost (the sharer must read cost at the root org)'),
  show_commitment: z.boolean().optional().describe('orgtally: show the commitment line (default true)'),
};

const createBody = z.strictObject({
  dashboard_id: z.string().describe('the public id of the org whose usage dashboard is shared'),
  dashboard_type: dashboardType,
  ...shared,
  status: z
    .enum(['active'], { error: 'a new share starts active: pause it with PUT …/{token}' })
    .nullable()
    .optional(),
  ...DATADOG_IGNORED,
  ...READ_ONLY,
});
const updateBody = z.strictObject({
  ...shared,
  status: z.enum(['active', 'paused'], { error: 'must be active or paused' }).nullable().optional(),
  ...DATADOG_IGNORED,
});

const shareItem = z.object({
  token: z.string().optional(),
  public_url: z.string().optional(),
  dashboard_id: z.string(),
  dashboard_type: z.string(),
  title: z.string(),
  share_type: z.enum(['open', 'invite']),
  status: z.enum(['active', 'paused']),
  expiration: z.string(),
  created: z.string(),
  last_accessed: z.string().nullable(),
  author: z.object({ handle: z.string(), name: z.null() }),
  invitees: z.array(
    z.object({ email: z.string(), access_expiration: z.string().nullable(), created_at: z.string() }),
  ),
  selectable_template_vars: z.array(
    z.object({
      name: z.string(),
      prefix: z.string(),
      default_value: z.string(),
      visible_tags: z.array(z.string()),
    }),
  ),
  id: z.string(),
  state: z.enum(['active', 'paused', 'expired', 'revoked']),
  org_name: z.string(),
  show_cost: z.boolean(),
  show_commitment: z.boolean(),
});
const tokenParams = z.strictObject({
  token: z.string().describe('the share’s link token, or (orgtally) its id'),
});

const shareOut = (s: ShareRow, publicUrl: string, token?: string) => shareJson(s, { publicUrl, token });

/** The token the path carried, if it carried one and not the share's id: only then may the answer repeat it. */
const tokenIn = (handle: string, s: ShareRow) =>
  handle.trim().toLowerCase() === s.id ? undefined : handle.trim();

/** Datadog's template variables as orgtally's locked filters: each name locked to its default_value. */
function locksOf(vars: z.output<typeof templateVar>[]): Record<string, string> {
  const locks = new Map<string, string>();
  vars.forEach((v, i) => {
    const at = `selectable_template_vars[${i}]`;
    if (v.default_value === undefined || v.default_value === null)
      throw invalid(`${at}.default_value: is required (a shared filter is locked to this one value)`);
    if (v.prefix != null && v.prefix !== v.name)
      throw invalid(`${at}.prefix: must be the name ("${v.name}"): the filter's tag key, got "${v.prefix}"`);
    if (v.visible_tags?.some((t) => t !== v.default_value))
      throw invalid(
        `${at}.visible_tags: orgtally locks a filter to its default_value ("${v.default_value}"); a viewer picks no other`,
      );
    if (locks.has(v.name)) throw invalid(`${at}.name: "${v.name}" is given twice`);
    locks.set(v.name, v.default_value);
  });
  return Object.fromEntries(locks);
}

// queries/shares.ts names the locked filters `locks` (the CLI's word); the API's caller sent them as Datadog's.
async function inApiTerms<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (
      err instanceof OrgtallyError &&
      err.type === ErrorType.InvalidInput &&
      err.message.startsWith('locks:')
    )
      throw invalid(err.message.replace(/^locks:/, 'selectable_template_vars:'));
    throw err;
  }
}

const common = { group: 'dashboards', auth: 'key_pair', need: SHARE_MANAGE } as const;

export const dashboardRoutes = [
  route({
    ...common,
    method: 'GET',
    url: BASE,
    operationId: 'ListPublicDashboards',
    summary: 'orgtally’s own: the shares of the caller’s orgs, every state (no tokens: they are not kept)',
    query: z.strictObject({}),
    response: z.object({ data: z.array(shareItem) }),
    handle: async ({ db, scope, publicUrl }) => ({
      data: (await sharesInScope(db, scope)).map((s) => shareOut(s, publicUrl)),
    }),
  }),
  route({
    ...common,
    method: 'POST',
    url: BASE,
    operationId: 'CreatePublicDashboard',
    summary: 'Share an org’s usage dashboard through a link (open, or invite-only)',
    body: createBody,
    response: shareItem,
    handle: async ({ db, scope, body: b, now, publicUrl }) => {
      const { share, token } = await inApiTerms(
        shareDashboard(
          db,
          scope,
          {
            org: b.dashboard_id,
            dashboardType: b.dashboard_type,
            title: b.title ?? undefined,
            shareType: b.share_type ?? undefined,
            expiresAt: b.expiration ?? undefined,
            invitees: b.invitees ?? undefined,
            locks: b.selectable_template_vars ? locksOf(b.selectable_template_vars) : undefined,
            showCost: b.show_cost,
            showCommitment: b.show_commitment,
          },
          now,
        ),
      );
      return shareOut(share, publicUrl, token);
    },
  }),
  route({
    ...common,
    method: 'GET',
    url: `${BASE}/:token`,
    operationId: 'GetPublicDashboard',
    summary: 'One share, by its token (or its id: then without the token)',
    params: tokenParams,
    query: z.strictObject({}),
    response: shareItem,
    handle: async ({ db, scope, params, publicUrl }) => {
      const s = await shareOf(db, scope, params.token);
      return shareOut(s, publicUrl, tokenIn(params.token, s));
    },
  }),
  route({
    ...common,
    method: 'PUT',
    url: `${BASE}/:token`,
    operationId: 'UpdatePublicDashboard',
    summary: 'Change a share: title, expiry, invitees, locked filters, what it shows; pause or resume it',
    params: tokenParams,
    body: updateBody,
    response: shareItem,
    handle: async ({ db, scope, params, body: b, now, publicUrl }) => {
      const s = await inApiTerms(
        changeShare(
          db,
          scope,
          params.token,
          {
            title: b.title ?? undefined,
            shareType: b.share_type ?? undefined,
            // Datadog's null is "never expires"; orgtally's links always do: null is the default, a year on.
            expiresAt:
              b.expiration === null ? new Date(now + DEFAULT_SHARE_TTL_MS).toISOString() : b.expiration,
            invitees: b.invitees ?? undefined,
            locks: b.selectable_template_vars ? locksOf(b.selectable_template_vars) : undefined,
            showCost: b.show_cost,
            showCommitment: b.show_commitment,
            status: b.status ?? undefined,
          },
          now,
        ),
      );
      return shareOut(s, publicUrl, tokenIn(params.token, s));
    },
  }),
  route({
    ...common,
    method: 'DELETE',
    url: `${BASE}/:token`,
    operationId: 'DeletePublicDashboard',
    summary:
      'Revoke a share for good: its link opens nothing; the row stays, revoked, for the list and audit',
    params: tokenParams,
    response: z.object({ deleted_public_dashboard_token: z.string() }),
    handle: async ({ db, scope, params }) => {
      await revokeSharedDashboard(db, scope, params.token);
      return { deleted_public_dashboard_token: params.token };
    },
  }),
  route({
    ...common,
    method: 'POST',
    url: `${BASE}/:token/rotate`,
    operationId: 'RotatePublicDashboardToken',
    summary: 'orgtally’s own: a new token for the same share; the old link opens nothing from now on',
    params: tokenParams,
    response: shareItem,
    handle: async ({ db, scope, params, publicUrl }) => {
      const { share, token } = await rotateShareToken(db, scope, params.token);
      return shareOut(share, publicUrl, token);
    },
  }),
];
