import {
  alertDeliveries,
  alertRuleDefinitions,
  productUnits,
  type AlertDeliveryRow,
} from '../../db/console-alerts';
import { ALERTS_READ, ALERTS_WRITE, denial } from '../../domain/access';
import type { AlertRuleSpec } from '../../domain/spec';
import { alertNotices, alertStates } from '../../queries/alerts';
import type { Scope } from '../../queries/scope';
import { html } from '../html';
import { notice } from '../layout';
import type { Action, Page } from '../page';
import { oneOf } from '../params';
import { ruleForm } from './alerts-rule-form';
import { rowOf, rowsFromForm } from './alerts-rule-rows';
import { RULES_WRITE, saveRulesAction } from './alerts-save';
import { historyTable, rulesTable, statesTable } from './alerts-tables';

/**
 * Alerts: the rules (and, for the root org's writers, an editor of them), the state of every rule and scope as
 * last evaluated, and the latest notices with the mail each one sent. A child org's user sees what is about its
 * orgs, as the API shows it (api/routes/orgtally.ts alert-rules, alerts).
 */
const NOTICES = 100;

/** A rule about an org outside the caller's subtree, or about the whole account, is the root org's. */
const visibleRule = (scope: Scope, r: AlertRuleSpec) =>
  scope.parentLevel || (r.scope.org !== undefined && scope.orgs.has(r.scope.org));

const DONE = {
  none: undefined,
  saved: 'The alert rules were saved. They apply from the next hourly evaluation.',
  unchanged: 'The alert rules were saved: nothing changed.',
} as const;

export const alertsPages: Page[] = [
  {
    path: '/alerts',
    nav: 'Alerts',
    need: ALERTS_READ,
    async render(ctx) {
      const { db, scope, query } = ctx;
      const which = oneOf(query, 'states', ['all', 'firing'] as const, 'all');
      const done = oneOf(query, 'done', ['none', 'saved', 'unchanged'] as const, 'none');
      const [defs, states, notices, products] = await Promise.all([
        alertRuleDefinitions(db, scope.accountId),
        alertStates(db, scope, { all: which === 'all' }),
        alertNotices(db, scope, { limit: NOTICES }),
        productUnits(db, scope.accountId),
      ]);
      const rules = defs.filter((r) => visibleRule(scope, r));
      const shown = new Set(rules.map((r) => r.id));
      const mail = new Map<string, AlertDeliveryRow[]>();
      for (const d of await alertDeliveries(
        db,
        scope.accountId,
        notices.map((n) => n.id),
      ))
        mail.set(d.event_id, [...(mail.get(d.event_id) ?? []), d]);
      const canEdit = !denial(scope, RULES_WRITE);
      const rows = (ctx.refused && rowsFromForm(ctx.refused.form)) || rules.map(rowOf);
      // A refused form is shown right below the rules, its refusal on top; otherwise the editor comes last.
      const editor = canEdit
        ? html`<h2 id="edit">Change the rules</h2>
            ${ruleForm({ csrf: ctx.csrf, rows, orgs: scope.orgs, products, error: ctx.refused?.error })}`
        : !denial(scope, ALERTS_WRITE)
          ? html`<p class="hint">
              Alert rules are the account's: a user of its root organization with usage_notifications_write
              changes them.
            </p>`
          : '';
      return {
        title: 'Alerts',
        body: html`${notice(DONE[done])}
          <h2>Rules</h2>
          ${rulesTable(rules, scope.orgs, scope.parentLevel)}
          ${ctx.refused ? editor : canEdit ? html`<p><a href="#edit">Change the rules</a></p>` : ''}
          <h2>Current states</h2>
          <form method="get" action="/alerts" class="filters">
            <div>
              <label for="states">Show</label>
              <select id="states" name="states">
                <option value="all" ${which === 'all' ? html`selected` : ''}>Every rule and scope</option>
                <option value="firing" ${which === 'firing' ? html`selected` : ''}>Firing only</option>
              </select>
            </div>
            <button type="submit" class="secondary">Show</button>
          </form>
          ${statesTable(states, which)}
          <h2>History</h2>
          <p class="hint">The latest ${NOTICES} notices.</p>
          ${historyTable(notices, mail, scope.parentLevel, (id) => shown.has(id))}
          ${ctx.refused ? '' : editor}`,
      };
    },
  },
];

export const alertsActions: Action[] = [saveRulesAction];
