import type { ShareRow } from '../../db/shares';
import { SHARE_MANAGE } from '../../domain/access';
import { sharedUrl } from '../../queries/share-json';
import {
  changeShare,
  revokeSharedDashboard,
  rotateShareToken,
  shareDashboard,
  shareOf,
} from '../../queries/shares';
import { when } from '../format';
import { html } from '../html';
import { csrfField } from '../layout';
import type { Action, PageCtx, Rendered } from '../page';
import { shareRequestOf } from './shares-form';

/**
 * The Shared dashboards page's forms. Each goes through queries/shares.ts with the caller's scope: a share of
 * an org outside it is "not found" there, as an unknown one is, so these never look at orgs themselves.
 */

/** The link, once: the database holds only its digest, as it holds only a key's (web/pages/access-keys.ts). */
function linkOnce(ctx: PageCtx, share: ShareRow, token: string, what: string): Rendered {
  const who =
    share.share_type === 'invite'
      ? `Only ${share.invitees.map((i) => i.email).join(', ')} can open it: each confirms their address first.`
      : 'Anyone who has it can open it: send it only to whom it is meant for.';
  const locks = Object.entries(share.locks).map(([k, v]) => `${k}=${v}`);
  const filtered = locks.length ? ` filtered to ${locks.join(', ')}` : '';
  return {
    title: `The link to "${share.title}"`,
    body: html`<div class="notice" role="status">
        <p>${what}</p>
      </div>
      <h2>Link</h2>
      <p class="secret" id="share-link">${sharedUrl(ctx.config.publicUrl, token)}</p>
      <p>
        <strong>Copy it now: it will not be shown again.</strong> orgtally keeps only its digest; if it is
        lost, rotate the link on the Shared dashboards page (the old one stops working) and send the new one.
      </p>
      <p>${who} It shows the usage of ${share.org_name}${filtered}, until ${when(share.expires_at)}.</p>
      <p><a href="/shares">Back to Shared dashboards</a></p>`,
  };
}

export const createShareAction: Action = {
  path: '/shares',
  need: SHARE_MANAGE,
  back: '/shares',
  async handle(ctx) {
    const { share, token } = await shareDashboard(
      ctx.db,
      ctx.scope,
      shareRequestOf(ctx.form, ctx.now),
      ctx.now,
    );
    return linkOnce(ctx, share, token, `The dashboard of ${share.org_name} is shared as "${share.title}".`);
  },
};

const statusAction = (path: string, status: 'active' | 'paused', done: string): Action => ({
  path,
  need: SHARE_MANAGE,
  back: '/shares',
  async handle(ctx) {
    await changeShare(ctx.db, ctx.scope, ctx.form.id ?? '', { status }, ctx.now);
    return { redirect: `/shares?done=${done}` };
  },
});

export const pauseShareAction = statusAction('/shares/pause', 'paused', 'paused');
export const resumeShareAction = statusAction('/shares/resume', 'active', 'resumed');

export const rotateShareAction: Action = {
  path: '/shares/rotate',
  need: SHARE_MANAGE,
  back: '/shares',
  async handle(ctx) {
    const { share, token } = await rotateShareToken(ctx.db, ctx.scope, ctx.form.id ?? '');
    return linkOnce(
      ctx,
      share,
      token,
      `"${share.title}" has a new link. The old one stopped working, and its viewers were signed out.`,
    );
  },
};

export const revokeShareAction: Action = {
  path: '/shares/revoke',
  need: SHARE_MANAGE,
  back: '/shares',
  async handle(ctx) {
    const { db, scope, form } = ctx;
    if (form.confirm !== 'yes') {
      // Looked up through the scope first, so a share one may not see gets no confirmation page either.
      const s = await shareOf(db, scope, form.id ?? '');
      return {
        title: `Revoke "${s.title}"?`,
        body: html`<p>
            The link to ${s.org_name}'s dashboard stops working at once, for good, and its viewers are signed
            out. It cannot be undone: to share the dashboard again, make a new link. (To stop it for a while,
            pause it instead.)
          </p>
          <form method="post" action="/shares/revoke" id="confirm-revoke">
            ${csrfField(ctx.csrf)}
            <input type="hidden" name="form" value="row" />
            <input type="hidden" name="id" value="${s.id}" />
            <input type="hidden" name="confirm" value="yes" />
            <button type="submit" class="danger">Yes, revoke "${s.title}"</button>
            <a href="/shares">No, keep it</a>
          </form>`,
      };
    }
    await revokeSharedDashboard(db, scope, form.id ?? '');
    return { redirect: '/shares?done=revoked' };
  },
};
