import type { ShareRow } from '../db/shares';
import { datadogTime } from '../domain/time';

const at = (v: string | null) => (v === null ? null : datadogTime(v));

/**
 * A share as Datadog's shared-dashboard API returns it (SharedDashboard), with orgtally's own fields after. The
 * API, `orgtally dashboards … --json` and the console print this one shape. `dashboard_id` is the org's public id:
 * orgtally has one usage dashboard per org. The token is a secret held only as a digest, so `token` and
 * `public_url` appear only when the caller has the token in hand: at creation, at rotation, or when it addressed
 * the share by its token. Instants are in Datadog's form (`…+00:00`), as on every Datadog-shaped route.
 */
export function shareJson(s: ShareRow, o: { publicUrl: string; token?: string }) {
  return {
    ...(o.token !== undefined && { token: o.token, public_url: sharedUrl(o.publicUrl, o.token) }),
    dashboard_id: s.org,
    dashboard_type: s.dashboard_type,
    title: s.title,
    share_type: s.share_type,
    status: s.status,
    expiration: datadogTime(s.expires_at),
    created: datadogTime(s.created_at),
    last_accessed: at(s.last_accessed_at),
    author: { handle: s.created_by.replace(/^(user|cli|key):/, ''), name: null },
    invitees: s.invitees.map((i) => ({
      email: i.email,
      access_expiration: at(i.access_expiration),
      created_at: datadogTime(i.created_at),
    })),
    // A locked filter is a template variable whose only visible value is the locked one.
    selectable_template_vars: Object.entries(s.locks).map(([name, value]) => ({
      name,
      prefix: name,
      default_value: value,
      visible_tags: [value],
    })),
    id: s.id,
    state: s.state,
    org_name: s.org_name,
    show_cost: s.show_cost,
    show_commitment: s.show_commitment,
  };
}
export type ShareJson = ReturnType<typeof shareJson>;

export const sharedUrl = (publicUrl: string, token: string) =>
  `${publicUrl.replace(/\/+$/, '')}/shared/${token}`;
