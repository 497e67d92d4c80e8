import { consoleKeys } from '../../db/console-access';
import { createKey, revokeKey } from '../../db/keys';
import { ACCESS_MANAGE, PERMISSION_NAMES } from '../../domain/access';
import { notFound, orgFilter } from '../../queries/scope';
import { when } from '../format';
import { html } from '../html';
import type { Action } from '../page';
import { checkNotAbove, checked, invalid, userInScope } from './access-rules';

/** Keys: a manager creates its own (shown once) and revokes those of its orgs' users. */

function expiry(v: string | undefined, now: number): string | undefined {
  if (v === undefined || v === '') return undefined;
  const at = `${v}T00:00:00.000Z`;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(at)) || new Date(at).toISOString() !== at)
    throw invalid(`expires: "${v}" is not a day; give it as YYYY-MM-DD, e.g. 2027-06-30`);
  if (Date.parse(at) <= now) throw invalid(`expires: ${v} has begun already; choose a later day`);
  return at;
}

export const createKeyAction: Action = {
  path: '/access/keys',
  need: ACCESS_MANAGE,
  back: '/access',
  async handle(ctx) {
    const { db, scope, form } = ctx;
    const name = (form.name ?? '').trim();
    if (!name || name.length > 100) throw invalid('name: give the key a name of at most 100 characters');
    const scopes = checked(form, 'scope_', PERMISSION_NAMES);
    const expiresAt = expiry(form.expires?.trim(), ctx.now);
    const key = await db.transaction((trx) =>
      createKey(trx, {
        accountId: scope.accountId,
        email: ctx.email,
        name,
        ...(scopes.length ? { scopes } : {}),
        ...(expiresAt ? { expiresAt } : {}),
        actor: scope.actor,
      }),
    );
    return {
      title: 'Your new key',
      body: html`<div class="notice" role="status"><p>The key "${name}" (${key.id}) was created.</p></div>
        <p>
          <strong>Copy both values now: they will not be shown again.</strong> orgtally keeps only their
          digests; if you lose them, revoke this key and create another.
        </p>
        <h2>API key</h2>
        <p class="secret" id="api-key">${key.api_key}</p>
        <h2>Application key</h2>
        <p class="secret" id="application-key">${key.application_key}</p>
        <p>
          Send them as the <code>DD-API-KEY</code> and <code>DD-APPLICATION-KEY</code> headers.
          ${key.expires_at ? `The key stops working at ${when(key.expires_at)}.` : 'The key does not expire.'}
          It acts as you, with
          ${scopes.length ? `the scopes ${scopes.join(', ')}` : 'all of your permissions'}.
        </p>
        <p><a href="/access">Back to Access</a></p>`,
    };
  },
};

export const revokeKeyAction: Action = {
  path: '/access/keys/revoke',
  need: ACCESS_MANAGE,
  back: '/access',
  async handle(ctx) {
    const { db, scope, form } = ctx;
    const key = (await consoleKeys(db, scope.accountId, orgFilter(scope))).find((k) => k.id === form.id);
    if (!key) throw notFound(`no key ${form.id ?? ''} in your organizations`);
    if (key.email !== ctx.email.trim().toLowerCase())
      checkNotAbove(scope, await userInScope(ctx, key.email), 'revoke a key of');
    await db.transaction((trx) =>
      revokeKey(trx, { accountId: scope.accountId, id: key.id, actor: scope.actor }),
    );
    return { redirect: '/access?done=key-revoked' };
  },
};
