import type { ShareRow, ShareState } from '../../db/shares';
import { when } from '../format';
import { html, type Html } from '../html';
import { wrap } from '../widgets';
import { rowButton } from './access-tables';

/** The Shared dashboards page's table: every share of the caller's orgs, in every state, with its row actions. */

const STATE_LABEL: Record<ShareState, string> = {
  active: 'active',
  paused: 'paused',
  expired: 'expired',
  revoked: 'revoked',
};

/** The state in words, marked as the month statuses are (the colour repeats the word, never replaces it). */
export const shareBadge = (state: ShareState): Html =>
  html`<span class="status-share-${state}">${STATE_LABEL[state]}</span>`;

// The audit actor is `user:<email>` (or `cli:…`, `key:…`); the list shows who, as the API's `author.handle` does.
const author = (actor: string) => actor.replace(/^(user|cli|key):/, '');

function typeCell(s: ShareRow): Html {
  if (s.share_type === 'open') return html`open <span class="hint">anyone with the link</span>`;
  return html`invite-only
    <ul class="mail-list">
      ${s.invitees.map(
        (i) =>
          html`<li>
            ${i.email}${i.access_expiration ? html` <span class="muted">until ${when(i.access_expiration)}</span>` : ''}
          </li>`,
      )}
    </ul>`;
}

function locksCell(locks: Record<string, string>): Html {
  const entries = Object.entries(locks);
  if (!entries.length) return html`<span class="muted">none</span>`;
  return html`${entries.map(([k, v]) => html`<span class="tag">${k}=${v}</span>`)}`;
}

const shows = (s: ShareRow): Html =>
  html`<span class="tag">usage</span>${s.show_cost ? html`<span class="tag">cost</span>` : ''}${
      s.show_commitment ? html`<span class="tag">commitment</span>` : ''
    }`;

/**
 * The buttons a share's state allows: pause or resume while the link could open, rotate while it could open,
 * revoke until it is revoked. The actions check again (queries/shares.ts), so a button is a convenience only.
 */
function actionsOf(csrf: string, s: ShareRow): Html {
  const row = { form: 'row', id: s.id };
  const named = (label: string) => html`${label}<span class="visually-hidden"> "${s.title}"</span>`;
  const live = s.state === 'active' || s.state === 'paused';
  return html`${s.state === 'active' ? rowButton(csrf, '/shares/pause', row, named('Pause'), false) : ''}
  ${s.state === 'paused' ? rowButton(csrf, '/shares/resume', row, named('Resume'), false) : ''}
  ${live ? rowButton(csrf, '/shares/rotate', row, named('Rotate link'), false) : ''}
  ${s.state === 'revoked' ? '' : rowButton(csrf, '/shares/revoke', row, named('Revoke'))}`;
}

export function sharesTable(shares: readonly ShareRow[], csrf: string): Html {
  if (!shares.length) return html`<p id="no-shares">No dashboard of your organizations is shared yet.</p>`;
  return wrap(
    html`<table id="shares">
      <caption>
        Shared dashboards (the links are shown only when they are made)
      </caption>
      <thead>
        <tr>
          <th scope="col">Title</th>
          <th scope="col">Organization</th>
          <th scope="col">Type</th>
          <th scope="col">Locked filters</th>
          <th scope="col">Shows</th>
          <th scope="col">State</th>
          <th scope="col">Expires</th>
          <th scope="col">Created by</th>
          <th scope="col">Last accessed</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        ${shares.map(
          (s) =>
            html`<tr id="share-${s.id}">
              <th scope="row">${s.title}</th>
              <td>${s.org_name} <span class="muted">${s.org}</span></td>
              <td>${typeCell(s)}</td>
              <td>${locksCell(s.locks)}</td>
              <td>${shows(s)}</td>
              <td>${shareBadge(s.state)}</td>
              <td>${when(s.expires_at)}</td>
              <td>${author(s.created_by)} <span class="muted">${when(s.created_at)}</span></td>
              <td>${s.last_accessed_at ? when(s.last_accessed_at) : 'never'}</td>
              <td>${actionsOf(csrf, s)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}
