import type { RoleRow } from '../../db/access';
import type { AuditRow } from '../../db/audit';
import type { ConsoleKey, ConsoleUser } from '../../db/console-access';
import { PERMISSIONS } from '../../domain/access';
import { when } from '../format';
import { html, type Html } from '../html';
import { csrfField } from '../layout';
import { wrap } from '../widgets';

/** The Access page's tables: users, the role × permission grid, keys and the audit log. */

/** A one-button form: the row's action (remove, revoke, delete), with the row's id as a hidden field. */
export const rowButton = (
  csrf: string,
  action: string,
  fields: Record<string, string>,
  label: Html | string,
  danger = true,
): Html =>
  html`<form method="post" action="${action}" class="inline">
    ${csrfField(csrf)}
    ${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}" />`)}
    <button type="submit" class="${danger ? 'danger' : 'secondary'}">${label}</button>
  </form>`;

export function usersTable(
  users: readonly ConsoleUser[],
  orgs: ReadonlyMap<string, string>,
  remove: ((u: ConsoleUser) => Html) | undefined,
): Html {
  return wrap(
    html`<table id="users">
      <caption>
        Users
      </caption>
      <thead>
        <tr>
          <th scope="col">E-mail</th>
          <th scope="col">Organization</th>
          <th scope="col">Roles</th>
          <th scope="col" class="num">Active keys</th>
          <th scope="col">Password</th>
          <th scope="col">Added</th>
          ${remove ? html`<th scope="col"><span class="visually-hidden">Remove</span></th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${users.map(
          (u) =>
            html`<tr>
              <th scope="row">${u.email}</th>
              <td>${orgs.get(u.org) ?? u.org} <span class="muted">${u.org}</span></td>
              <td>${u.roles.map((r) => html`<span class="tag">${r}</span>`)}</td>
              <td class="num">${u.keys}</td>
              <td>
                ${u.password_set ? 'set' : html`<span class="muted">not set (invitation not accepted)</span>`}
              </td>
              <td>${when(u.created_at)}</td>
              ${remove ? html`<td>${remove(u)}</td>` : ''}
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

/** Rows = roles, columns = the 11 permissions; a cell says in words what its ✓ shows. */
export function roleGrid(
  roles: readonly RoleRow[],
  counts: boolean,
  remove: ((r: RoleRow) => Html) | undefined,
): Html {
  return wrap(
    html`<table id="roles" class="grid">
      <caption>
        Roles and their permissions
      </caption>
      <thead>
        <tr>
          <th scope="col">Role</th>
          ${PERMISSIONS.map((p) => html`<th scope="col" class="perm" title="${p.description}">${p.name}</th>`)}
          ${counts ? html`<th scope="col" class="num">Users</th>` : ''}
          ${remove ? html`<th scope="col"><span class="visually-hidden">Delete</span></th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${roles.map(
          (r) =>
            html`<tr>
              <th scope="row">${r.name} <span class="tag">${r.managed ? 'managed' : 'custom'}</span></th>
              ${PERMISSIONS.map((p) =>
                r.permissions.includes(p.name)
                  ? html`<td>
                      <span aria-hidden="true">✓</span
                      ><span class="visually-hidden">${r.name} has ${p.name}</span>
                    </td>`
                  : html`<td><span class="visually-hidden">${r.name} lacks ${p.name}</span></td>`,
              )}
              ${counts ? html`<td class="num">${r.user_count}</td>` : ''}
              ${remove ? html`<td>${r.managed ? '' : remove(r)}</td>` : ''}
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

export function keysTable(keys: readonly ConsoleKey[], revoke: ((k: ConsoleKey) => Html) | undefined): Html {
  if (!keys.length) return html`<p>No keys yet.</p>`;
  return wrap(
    html`<table id="keys">
      <caption>
        API keys (the secrets are never shown again after their creation)
      </caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">User</th>
          <th scope="col">Name</th>
          <th scope="col">Scopes</th>
          <th scope="col">Created</th>
          <th scope="col">Last used</th>
          <th scope="col">Expires</th>
          <th scope="col">Revoked</th>
          ${revoke ? html`<th scope="col"><span class="visually-hidden">Revoke</span></th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${keys.map(
          (k) =>
            html`<tr>
              <th scope="row">${k.id} <span class="muted">${k.hint}</span></th>
              <td>${k.email}</td>
              <td>${k.name}</td>
              <td>
                ${k.scopes === null ? html`<span class="muted">all of the user's permissions</span>` : k.scopes.map((s) => html`<span class="tag">${s}</span>`)}
              </td>
              <td>${when(k.created_at)}</td>
              <td>${k.last_used_at ? when(k.last_used_at) : 'never'}</td>
              <td>${k.expires_at ? when(k.expires_at) : 'never'}</td>
              <td>${k.revoked_at ? when(k.revoked_at) : 'no'}</td>
              ${revoke ? html`<td>${k.revoked_at ? '' : revoke(k)}</td>` : ''}
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

/** `before → after` in words: `org: client-a · roles: admin`. */
function changeOf(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  return Object.entries(v as Record<string, unknown>)
    .map(
      ([k, x]) =>
        `${k}: ${Array.isArray(x) ? x.join(', ') || '—' : typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x)}`,
    )
    .join(' · ');
}

export function auditTable(rows: readonly AuditRow[]): Html {
  if (!rows.length) return html`<p>No change is recorded yet.</p>`;
  return wrap(
    html`<table id="audit">
      <caption>
        Audit log: the latest ${rows.length} changes, newest first
      </caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">What</th>
          <th scope="col">Target</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (a) =>
            html`<tr id="audit-${a.id}">
              <td>${when(a.at)}</td>
              <td>${a.actor}</td>
              <th scope="row">${a.action}</th>
              <td>${a.target}</td>
              <td>${changeOf(a.before)}</td>
              <td>${changeOf(a.after)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}
