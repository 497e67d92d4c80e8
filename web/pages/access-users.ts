import { addUser, listRoles, removeUser } from '../../db/access';
import { issueLink } from '../../db/login-tokens';
import { mailInvitation } from '../../infra/invitation-mail';
import { ACCESS_MANAGE } from '../../domain/access';
import { isEmail } from '../../domain/spec';
import { when } from '../format';
import { html } from '../html';
import { csrfField } from '../layout';
import type { Action } from '../page';
import { checkNotAbove, invalid, lacking, userInScope } from './access-rules';

/** Inviting and removing users. */

export const inviteAction: Action = {
  path: '/access/invite',
  need: ACCESS_MANAGE,
  back: '/access',
  async handle(ctx) {
    const { db, scope, form } = ctx;
    const email = (form.email ?? '').trim().toLowerCase();
    if (!isEmail(email))
      throw invalid(`email: "${form.email ?? ''}" is not one e-mail address, e.g. name@example.com`);
    const org = form.org ?? '';
    if (!scope.orgs.has(org))
      throw invalid(`org: choose one of your organizations (${[...scope.orgs.keys()].join(', ')})`);
    const chosen = (await listRoles(db, scope.accountId)).filter((r) => form[`role_${r.name}`] === 'yes');
    if (!chosen.length) throw invalid('roles: tick at least one role');
    for (const r of chosen) {
      const more = lacking(scope, r.permissions);
      if (more.length)
        throw invalid(
          `roles: you cannot grant ${r.name}: it holds ${more.join(', ')}, which you do not hold`,
        );
    }
    const link = await db.transaction(async (trx) => {
      // addUser would move an existing user (of any org) and add roles: an invitation is for a new user only.
      if (await trx('users').where({ account_id: scope.accountId, email }).first('id'))
        throw invalid(`email: ${email} is a user of this account already; an invitation is for a new user`);
      await addUser(trx, {
        accountId: scope.accountId,
        email,
        org,
        roles: chosen.map((r) => r.name),
        actor: scope.actor,
      });
      return issueLink(trx, {
        accountId: scope.accountId,
        email,
        kind: 'invite',
        ttlMs: ctx.config.inviteTtlMs,
        actor: scope.actor,
      });
    });
    const url = `${ctx.config.publicUrl}/invite/${link.token}`;
    // Mailed after the commit, so a mail never names a link that does not exist.
    const mailed = ctx.config.mail
      ? await mailInvitation(db, ctx.config.mail, {
          accountId: scope.accountId,
          accountName: scope.accountName,
          email,
          linkId: link.id,
          url,
          expiresAt: link.expiresAt,
          invitedBy: ctx.email,
        })
      : undefined;
    return {
      title: `Invitation for ${email}`,
      body: html`<div class="notice" role="status">
          <p>
            ${email} was added to ${scope.orgs.get(org) ?? org} with the role${chosen.length > 1 ? 's' : ''}
            ${chosen.map((r) => r.name).join(', ')}.
          </p>
        </div>
        ${
          mailed?.status === 'sent'
            ? html`<p id="invitation-mail">
                The invitation was mailed to ${email}. The link is also here, once:
              </p>`
            : html`<h2>Send this link to ${email}</h2>
                ${
                  mailed
                    ? html`<p id="invitation-mail">
                        The mail could not be sent (${mailed.detail}): send the link yourself.
                      </p>`
                    : ''
                }`
        }
        <p class="secret" id="invitation-link">${url}</p>
        <p>
          It is shown only this
          once${mailed?.status === 'sent' ? '' : html`: copy it now and send it to ${email} yourself`}.
          Opening it, they choose a password and are signed in. It works once, until ${when(link.expiresAt)}.
        </p>
        <p>If the link is lost or expires, remove ${email} and invite them again.</p>
        <p><a href="/access">Back to Access</a></p>`,
    };
  },
};

export const removeUserAction: Action = {
  path: '/access/users/remove',
  need: ACCESS_MANAGE,
  back: '/access',
  async handle(ctx) {
    const { db, scope, form } = ctx;
    const u = await userInScope(ctx, form.email ?? '');
    if (u.email === ctx.email.trim().toLowerCase())
      throw invalid('You cannot remove yourself: ask another user who manages access.');
    checkNotAbove(scope, u, 'remove');
    if (form.confirm !== 'yes')
      return {
        title: `Remove ${u.email}?`,
        body: html`<p>
            This removes ${u.email} from ${scope.orgs.get(u.org) ?? u.org}, with its ${u.keys} active
            key${u.keys === 1 ? '' : 's'}. Its sessions end at once. It cannot be undone: to let them back in,
            invite them again.
          </p>
          <form method="post" action="/access/users/remove" id="confirm-remove">
            ${csrfField(ctx.csrf)}
            <input type="hidden" name="form" value="row" />
            <input type="hidden" name="email" value="${u.email}" />
            <input type="hidden" name="confirm" value="yes" />
            <button type="submit" class="danger">Yes, remove ${u.email}</button>
            <a href="/access">No, keep them</a>
          </form>`,
      };
    await db.transaction((trx) =>
      removeUser(trx, { accountId: scope.accountId, email: u.email, actor: scope.actor }),
    );
    return { redirect: '/access?done=user-removed' };
  },
};
