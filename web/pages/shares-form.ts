import { COST_READ, denial } from '../../domain/access';
import { DAY_MS } from '../../domain/time';
import type { ShareRequest } from '../../queries/shares';
import { html, type Html } from '../html';
import { csrfField, refusal } from '../layout';
import type { PageCtx } from '../page';
import { badParam, dayQ, oneOf } from '../params';

/**
 * The "Share an org's dashboard" form, and the request it stands for. The form only turns text into a
 * ShareRequest (locks from `key=value, …`, invitees one per line, an expiry from the choice); whether the org,
 * the tag keys, the addresses and showing cost are allowed is decided by queries/shares.ts.
 */
export type ShareFormName = 'share' | 'row';

/** The refused values of this form, if it is the one that was refused (as the Access page's forms). */
export function sent(ctx: PageCtx, name: ShareFormName): { values: Record<string, string>; error?: string } {
  const r = ctx.refused;
  return r && r.form.form === name ? { values: r.form, error: r.error } : { values: {} };
}

const EXPIRIES = ['30d', '90d', '1y', 'date'] as const;
type Expiry = (typeof EXPIRIES)[number];
const EXPIRY_LABEL: Record<Expiry, string> = {
  '30d': 'in 30 days',
  '90d': 'in 90 days',
  '1y': 'in 1 year',
  date: 'on the day below',
};
const EXPIRY_DAYS: Partial<Record<Expiry, number>> = { '30d': 30, '90d': 90 };

/** `team=web, env=prod` → { team: 'web', env: 'prod' }; only the shape is checked here. */
export function locksOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    if (!part) continue;
    const at = part.indexOf('=');
    if (at <= 0) throw badParam('locks', `"${part}" is not key=value; write e.g. team=web, env=prod`);
    const key = part.slice(0, at).trim();
    if (Object.hasOwn(out, key)) throw badParam('locks', `${key} is locked twice; give each key once`);
    out[key] = part.slice(at + 1).trim();
  }
  return out;
}

function expiryOf(form: Record<string, string>, now: number): string | undefined {
  const choice = oneOf(form, 'expiry', EXPIRIES, '1y');
  const day = dayQ(form, 'expires_on');
  if (choice !== 'date') {
    // A day typed in while another choice is selected is a mistake to point out, not to drop silently.
    if (day)
      throw badParam(
        'expiry',
        `you gave the day ${day} but chose "${EXPIRY_LABEL[choice]}"; choose "${EXPIRY_LABEL.date}" or clear the day`,
      );
    const days = EXPIRY_DAYS[choice];
    // 1 year is the default of queries/shares.ts: one place says how long a share lasts unless told.
    return days === undefined ? undefined : new Date(now + days * DAY_MS).toISOString();
  }
  if (!day) throw badParam('expires_on', 'give the day the link stops working, as YYYY-MM-DD');
  const at = `${day}T00:00:00.000Z`;
  if (Date.parse(at) <= now) throw badParam('expires_on', `${day} has begun already; choose a later day`);
  return at;
}

export function shareRequestOf(form: Record<string, string>, now: number): ShareRequest {
  const org = (form.org ?? '').trim();
  if (!org) throw badParam('org', 'choose the organization whose dashboard to share');
  const title = (form.title ?? '').trim();
  const expiresAt = expiryOf(form, now);
  const invitees = (form.invitees ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((email) => ({ email }));
  return {
    org,
    ...(title ? { title } : {}),
    locks: locksOf(form.locks ?? ''),
    invitees,
    shareType: invitees.length ? 'invite' : 'open',
    showCost: form.show_cost === 'yes',
    showCommitment: form.show_commitment === 'yes',
    ...(expiresAt ? { expiresAt } : {}),
  };
}

const box = (name: string, label: string, on: boolean, hint: string): Html =>
  html`<div class="checkbox">
    <input type="checkbox" id="share-${name}" name="${name}" value="yes" ${on ? html`checked` : ''} />
    <label for="share-${name}">${label} <span class="hint">${hint}</span></label>
  </div>`;

export function shareForm(ctx: PageCtx, tagKeys: readonly string[]): Html {
  const { values, error } = sent(ctx, 'share');
  const fresh = error === undefined;
  // A share is usually for one client: the form opens on the first org below the user's own, never on the whole
  // account (a share of the root org shows every org to whoever has the link).
  const org = values.org ?? [...ctx.scope.orgs.keys()].find((id) => id !== ctx.scope.org) ?? ctx.scope.org;
  const expiry = values.expiry ?? '1y';
  const mayShowCost = !denial(ctx.scope, COST_READ);
  return html`<form method="post" action="/shares" class="panel" id="new-share">
    ${refusal(error)} ${csrfField(ctx.csrf)}
    <input type="hidden" name="form" value="share" />
    <div class="field">
      <label for="share-org">Organization</label>
      <span class="hint" id="share-org-hint"
        >its dashboard shows this organization and the ones below it</span
      >
      <select id="share-org" name="org" aria-describedby="share-org-hint">
        ${[...ctx.scope.orgs].map(
          ([id, name]) =>
            html`<option value="${id}" ${id === org ? html`selected` : ''}>
              ${name} (${id})${id === ctx.scope.accountId ? ' — every org of the account' : ''}
            </option>`,
        )}
      </select>
    </div>
    <div class="field">
      <label for="share-title">Title (optional)</label>
      <span class="hint" id="share-title-hint">empty: the organization's name and "usage"</span>
      <input
        type="text"
        id="share-title"
        name="title"
        value="${values.title ?? ''}"
        maxlength="200"
        aria-describedby="share-title-hint"
      />
    </div>
    <div class="field">
      <label for="share-expiry">The link stops working</label>
      <select id="share-expiry" name="expiry">
        ${EXPIRIES.map(
          (e) => html`<option value="${e}" ${e === expiry ? html`selected` : ''}>${EXPIRY_LABEL[e]}</option>`,
        )}
      </select>
    </div>
    <div class="field">
      <label for="share-expires-on">Day (with "on the day below")</label>
      <span class="hint" id="share-expires-on-hint"
        >YYYY-MM-DD; the link stops working at its start (UTC)</span
      >
      <input
        type="date"
        id="share-expires-on"
        name="expires_on"
        value="${values.expires_on ?? ''}"
        aria-describedby="share-expires-on-hint"
      />
    </div>
    <div class="field">
      <label for="share-locks">Locked filters (optional)</label>
      <span class="hint" id="share-locks-hint"
        >key=value, separated by commas; the tag breakdown counts only usage with these tags. The account's
        tag keys: ${tagKeys.length ? tagKeys.join(', ') : 'none yet'}</span
      >
      <input
        type="text"
        id="share-locks"
        name="locks"
        value="${values.locks ?? ''}"
        aria-describedby="share-locks-hint"
      />
    </div>
    <div class="field">
      <label for="share-invitees">Invited e-mail addresses (optional)</label>
      <span class="hint" id="share-invitees-hint"
        >one per line; only they can open the link. Empty: anyone with the link can open it</span
      >
      <textarea id="share-invitees" name="invitees" rows="4" aria-describedby="share-invitees-hint">
${values.invitees ?? ''}</textarea>
    </div>
    <fieldset>
      <legend>The viewer sees usage, and</legend>
      ${
        mayShowCost
          ? box('show_cost', 'cost', values.show_cost === 'yes', `the amounts, in ${ctx.scope.currency}`)
          : html`<p class="hint" id="share-no-cost">
              Cost is not offered: only a user who may read it (billing_read at the root organization) can
              share it.
            </p>`
      }
      ${box(
        'show_commitment',
        'commitment',
        fresh || values.show_commitment === 'yes',
        'what the contract includes of each product',
      )}
    </fieldset>
    <button type="submit">Share the dashboard</button>
  </form>`;
}
