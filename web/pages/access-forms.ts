import type { RoleRow } from '../../db/access';
import { PERMISSIONS } from '../../domain/access';
import { html, type Html } from '../html';
import { csrfField, refusal } from '../layout';
import type { PageCtx } from '../page';

/**
 * The Access page's forms. Each carries a hidden `form` naming it, so that a refused one is shown again with its
 * refusal and the values that were sent, and the others are shown empty.
 */
export type FormName = 'invite' | 'role' | 'key' | 'row';

/** The refused values of this form, if it is the one that was refused. */
export function sent(ctx: PageCtx, name: FormName): { values: Record<string, string>; error?: string } {
  const r = ctx.refused;
  return r && r.form.form === name ? { values: r.form, error: r.error } : { values: {} };
}

const box = (name: string, label: Html | string, on: boolean, hint?: string): Html =>
  html`<div class="checkbox">
    <input type="checkbox" id="${name}" name="${name}" value="yes" ${on ? html`checked` : ''} />
    <label for="${name}">${label}${hint ? html` <span class="hint">${hint}</span>` : ''}</label>
  </div>`;

export function inviteForm(ctx: PageCtx, roles: readonly RoleRow[]): Html {
  const { values, error } = sent(ctx, 'invite');
  const org = values.org ?? ctx.scope.org;
  return html`<form method="post" action="/access/invite" class="panel" id="invite">
    ${refusal(error)} ${csrfField(ctx.csrf)}
    <input type="hidden" name="form" value="invite" />
    <div class="field">
      <label for="invite-email">E-mail address</label>
      <input type="email" id="invite-email" name="email" value="${values.email ?? ''}" autocomplete="off" />
    </div>
    <div class="field">
      <label for="invite-org">Organization</label>
      <select id="invite-org" name="org">
        ${[...ctx.scope.orgs].map(
          ([id, name]) =>
            html`<option value="${id}" ${id === org ? html`selected` : ''}>${name} (${id})</option>`,
        )}
      </select>
    </div>
    <fieldset>
      <legend>Roles</legend>
      <p class="hint">You can grant only roles whose permissions you hold yourself.</p>
      ${roles.map((r) => box(`role_${r.name}`, r.name, values[`role_${r.name}`] === 'yes', r.permissions.join(', ') || 'no permission'))}
    </fieldset>
    <button type="submit">Invite</button>
  </form>`;
}

export function roleForm(ctx: PageCtx): Html {
  const { values, error } = sent(ctx, 'role');
  return html`<form method="post" action="/access/roles" class="panel" id="new-role">
    ${refusal(error)} ${csrfField(ctx.csrf)}
    <input type="hidden" name="form" value="role" />
    <div class="field">
      <label for="role-name">Name</label>
      <span class="hint" id="role-name-hint">lower-case letters, digits, _ . - (e.g. finance-eu)</span>
      <input
        type="text"
        id="role-name"
        name="name"
        value="${values.name ?? ''}"
        aria-describedby="role-name-hint"
      />
    </div>
    <fieldset>
      <legend>Permissions</legend>
      ${PERMISSIONS.map((p) => box(`perm_${p.name}`, p.name, values[`perm_${p.name}`] === 'yes', p.description))}
    </fieldset>
    <button type="submit">Create the role</button>
  </form>`;
}

export function keyForm(ctx: PageCtx): Html {
  const { values, error } = sent(ctx, 'key');
  const mine = PERMISSIONS.filter((p) => ctx.scope.permissions.has(p.name));
  return html`<form method="post" action="/access/keys" class="panel" id="new-key">
    ${refusal(error)} ${csrfField(ctx.csrf)}
    <input type="hidden" name="form" value="key" />
    <div class="field">
      <label for="key-name">Name</label>
      <span class="hint" id="key-name-hint">what the key is for, e.g. "finance export"</span>
      <input
        type="text"
        id="key-name"
        name="name"
        value="${values.name ?? ''}"
        aria-describedby="key-name-hint"
      />
    </div>
    <fieldset>
      <legend>Scopes (optional)</legend>
      <p class="hint">None ticked: the key acts with all of your permissions, as they are when it is used.</p>
      ${mine.map((p) => box(`scope_${p.name}`, p.name, values[`scope_${p.name}`] === 'yes'))}
    </fieldset>
    <div class="field">
      <label for="key-expires">Expires on (optional)</label>
      <span class="hint" id="key-expires-hint"
        >a day, YYYY-MM-DD; the key stops working at its start (UTC)</span
      >
      <input
        type="date"
        id="key-expires"
        name="expires"
        value="${values.expires ?? ''}"
        aria-describedby="key-expires-hint"
      />
    </div>
    <button type="submit">Create a key for me</button>
  </form>`;
}
