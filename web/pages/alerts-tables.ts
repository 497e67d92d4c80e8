import type { AlertEventRow, AlertStateRow } from '../../db/alert-reads';
import type { AlertDeliveryRow } from '../../db/console-alerts';
import type { AlertRuleSpec } from '../../domain/spec';
import { qty, when } from '../format';
import { html, type Html } from '../html';
import { wrap } from '../widgets';

/** The Alerts page's tables: the rules, their current states, and the notices with their mail. */

function condition(r: AlertRuleSpec): string {
  switch (r.kind) {
    case 'threshold': {
      const what = r.measure === 'projected' ? 'projected usage' : 'month-to-date usage';
      return r.above !== undefined
        ? `${what} above ${qty(r.above)}`
        : `${what} at or above ${r.percent_of_included} % of the included quantity`;
    }
    case 'spike':
    case 'drop':
      return `a day ${r.kind === 'spike' ? 'up' : 'down'} at least ${r.change_percent} % and at least ${qty(r.min_units)} units against the median of the 14 days before`;
    case 'stall':
      return 'no data arriving for longer than the account’s lateness window';
  }
}

function scopeText(r: AlertRuleSpec, orgs: ReadonlyMap<string, string>): Html {
  const org = r.scope.org === undefined ? 'whole account' : `${orgs.get(r.scope.org) ?? r.scope.org}`;
  return html`${org}${r.scope.product ? html` · ${r.scope.product}` : ' · every product'}
  ${(r.scope.tags ?? []).map((t) => html` <span class="tag">${t}</span>`)}`;
}

export function rulesTable(
  rules: readonly AlertRuleSpec[],
  orgs: ReadonlyMap<string, string>,
  parentLevel: boolean,
): Html {
  if (!rules.length)
    return html`<p>
      ${parentLevel ? 'The account has no alert rules yet.' : 'No alert rule is about your organizations.'}
    </p>`;
  return wrap(
    html`<table id="rules">
      <caption>
        Alert rules
      </caption>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">Kind</th>
          <th scope="col">Scope</th>
          <th scope="col">Fires on</th>
          <th scope="col">Recipients</th>
          <th scope="col">Reminder</th>
        </tr>
      </thead>
      <tbody>
        ${rules.map(
          (r) =>
            html`<tr>
              <th scope="row">${r.id}</th>
              <td>${r.kind}</td>
              <td>${scopeText(r, orgs)}</td>
              <td>${condition(r)}</td>
              <td>${r.recipients.join(', ')}</td>
              <td>${r.renotify ? `every ${r.renotify}` : 'none'}</td>
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

const stateBadge = (s: string) =>
  html`<span class="status-${s === 'firing' ? 'alert-firing' : 'alert-ok'}">${s}</span>`;

export function statesTable(states: readonly AlertStateRow[], which: 'all' | 'firing'): Html {
  if (!states.length)
    return html`<p>${which === 'firing' ? 'No alert is firing.' : 'No rule has been evaluated yet.'}</p>`;
  return wrap(
    html`<table id="states">
      <caption>
        ${which === 'firing' ? 'Alerts firing now' : 'Every rule and scope, as last evaluated'}
      </caption>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">Scope</th>
          <th scope="col">State</th>
          <th scope="col">Window</th>
          <th scope="col">Last evaluation</th>
          <th scope="col">Last notified</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        ${states.map(
          (s) =>
            html`<tr>
              <th scope="row">${s.rule_id}</th>
              <td>${s.scope_key || 'whole account'}</td>
              <td>${stateBadge(s.state)}</td>
              <td>${s.window ?? '—'}</td>
              <td>${s.message}</td>
              <td>${when(s.last_notified_at)}</td>
              <td>${when(s.updated_at)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

/**
 * `details`: the ledger's attempts and errors, the root org's (the API shows the ledger to it only). The
 * recipients of a rule the caller may not see (an account-wide rule firing about one of its orgs) stay hidden,
 * as the rule does.
 */
function mailCell(rows: readonly AlertDeliveryRow[], details: boolean, recipients: boolean): Html {
  if (!rows.length) return html`<td class="muted">no mail</td>`;
  if (!recipients)
    return html`<td>
      ${rows.length} mail${rows.length > 1 ? 's' : ''} to the account's recipients:
      ${rows.map((d) => html`<span class="status-mail-${d.status}">${d.status}</span> `)}
    </td>`;
  return html`<td>
    <ul class="mail-list">
      ${rows.map(
        (d) =>
          html`<li>
            ${d.recipient}:
            <span class="status-mail-${d.status}">${d.status}</span
            >${d.sent_at ? ` ${when(d.sent_at)}` : ''}${details && d.attempts > 1 ? ` after ${d.attempts} attempts` : ''}
            ${details && d.last_error && d.status !== 'sent' ? html`<span class="muted">(${d.last_error})</span>` : ''}
          </li>`,
      )}
    </ul>
  </td>`;
}

export function historyTable(
  notices: readonly AlertEventRow[],
  mail: ReadonlyMap<string, AlertDeliveryRow[]>,
  details: boolean,
  ruleVisible: (ruleId: string) => boolean,
): Html {
  if (!notices.length) return html`<p>No notice has been sent yet.</p>`;
  return wrap(
    html`<table id="history">
      <caption>
        Notices, newest first, with the mail each one sent
      </caption>
      <thead>
        <tr>
          <th scope="col">As of</th>
          <th scope="col">Rule</th>
          <th scope="col">Notice</th>
          <th scope="col">Scope</th>
          <th scope="col">Window</th>
          <th scope="col">Message</th>
          <th scope="col">Mail</th>
        </tr>
      </thead>
      <tbody>
        ${notices.map(
          (n) =>
            html`<tr id="notice-${n.id}">
              <td>${when(n.as_of)}</td>
              <th scope="row">${n.rule_id}</th>
              <td>${n.notify}</td>
              <td>${n.scope_key || 'whole account'}</td>
              <td>${n.window}</td>
              <td>${n.message}</td>
              ${mailCell(mail.get(n.id) ?? [], details, ruleVisible(n.rule_id))}
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}
