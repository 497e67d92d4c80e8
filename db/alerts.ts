import type { Knex } from 'knex';
import { alertEventKey, nextAlertState, type AlertState } from '../domain/alert-state';
import { type AlertKind } from '../domain/alerts';
import type { AlertRuleSpec } from '../domain/spec';
import { parseDurationHours } from '../domain/time';
import { planDeliveries } from './deliveries';
import { estimatePeriod } from './estimates';
import { evaluateRules } from './alert-evaluation';
import { names } from './alert-inputs';

/**
 * Owner of alert_states and alert_events. Evaluates an account's alert rules (domain/alerts.ts does the rule
 * math) over the rollups of db/usage-rollup.ts, moves each (rule, scope) to its next state and, for every notice
 * (fire, renotify, resolve, retract), stores an event and one delivery ledger row per recipient — all in one
 * transaction, so a retried evaluation finds the state moved and creates nothing twice.
 *
 * Scopes: a threshold is about one product, for the account (billable usage; `percent_of_included` compares
 * with the account's included quantity) or one org (its usage). spike / drop are evaluated per org × product
 * within the scope (every org, every product unless narrowed). stall per org (data of any product) or, when
 * the rule names a product, per org × product. A tag filter narrows threshold, spike and drop to the facts
 * whose tag set carries every listed tag (read from usage_facts: slower, meant for a few rules).
 */

export interface AlertNotice {
  eventId: string;
  ruleId: string;
  kind: AlertKind;
  scopeKey: string;
  notify: 'fire' | 'renotify' | 'resolve' | 'retract';
  window: string;
  message: string;
}

export interface AlertRunResult {
  accountId: string;
  asOf: string;
  rules: number;
  evaluated: number;
  notEvaluated: number;
  firing: number;
  notices: AlertNotice[];
  /** Why nothing was evaluated: a later hour was evaluated already. */
  skipped?: string;
}

/**
 * Evaluates every alert rule of the account at `asOf` (the estimate of that hour must be stored: percent rules
 * read its included quantity) and records state changes, events and ledger rows. Returns the notices created.
 */
export async function evaluateAlerts(
  db: Knex,
  input: { accountId: string; asOf: string },
  mailDomain: string,
): Promise<AlertRunResult> {
  return db.transaction(
    async (trx) => {
      await trx.raw('SET LOCAL jit = off');
      // One evaluation of an account at a time: states move in order.
      await trx.raw(`SELECT pg_advisory_xact_lock(hashtext('orgtally.alerts'), hashtext(?))`, [
        input.accountId,
      ]);
      const p = await estimatePeriod(trx, input.accountId, input.asOf);
      const last = await trx('alert_runs').where({ account_id: input.accountId }).first('last_as_of');
      if (last && (last.last_as_of as Date).getTime() > p.asOf.getTime()) {
        return {
          accountId: input.accountId,
          asOf: p.asOf.toISOString(),
          rules: 0,
          evaluated: 0,
          notEvaluated: 0,
          firing: 0,
          notices: [],
          skipped: `alerts were evaluated at ${(last.last_as_of as Date).toISOString()} already: an earlier hour changes nothing`,
        };
      }
      await trx('alert_runs')
        .insert({ account_id: input.accountId, last_as_of: p.asOf })
        .onConflict('account_id')
        .merge();
      const rules: AlertRuleSpec[] = (
        await trx('alert_rules').where({ account_id: input.accountId }).orderBy('rule_id')
      ).map((r: { definition: AlertRuleSpec }) => r.definition);
      const n = await names(trx, input.accountId);
      const evaluated = await evaluateRules(trx, p, rules, n);

      const states = new Map<string, AlertState>();
      const messages = new Map<string, string>();
      for (const s of await trx('alert_states').where({ account_id: input.accountId })) {
        const key = `${s.rule_id}\u0000${s.scope_key}`;
        states.set(key, {
          state: s.state,
          ...(s.window !== null ? { window: s.window } : {}),
          ...(s.last_notified_at ? { lastNotifiedMs: (s.last_notified_at as Date).getTime() } : {}),
        });
        messages.set(key, s.message);
      }
      const asOfMs = p.asOf.getTime();
      const notices: AlertNotice[] = [];
      const stateRows: Record<string, unknown>[] = [];
      for (const e of evaluated) {
        const key = `${e.rule.id}\u0000${e.scopeKey}`;
        const prev = states.get(key);
        const renotifyHours = e.rule.renotify ? parseDurationHours(e.rule.renotify) : undefined;
        const next = nextAlertState(prev, e.evaluation, {
          asOfMs,
          ...(renotifyHours !== undefined ? { renotifyHours } : {}),
        });
        const unchanged =
          next.notify === 'none' &&
          prev !== undefined &&
          prev.state === next.state &&
          prev.window === next.window &&
          messages.get(key) === e.evaluation.message;
        if (!unchanged) {
          stateRows.push({
            account_id: input.accountId,
            rule_id: e.rule.id,
            scope_key: e.scopeKey,
            state: next.state,
            window: next.window ?? null,
            last_notified_at: next.lastNotifiedMs === undefined ? null : new Date(next.lastNotifiedMs),
            message: e.evaluation.message,
            updated_at: trx.fn.now(),
          });
        }
        if (next.notify === 'none') continue;
        const window = next.noticeWindow ?? e.evaluation.window;
        const eventKey = alertEventKey({
          accountId: input.accountId,
          ruleId: e.rule.id,
          scopeKey: e.scopeKey,
          window,
          notify: next.notify,
          atMs: asOfMs,
        });
        const [row] = await trx('alert_events')
          .insert({
            event_key: eventKey,
            account_id: input.accountId,
            rule_id: e.rule.id,
            kind: e.rule.kind,
            scope_key: e.scopeKey,
            notify: next.notify,
            window,
            as_of: p.asOf,
            message: e.evaluation.message,
            details: JSON.stringify({
              rule: e.rule,
              scope: e.scope,
              evaluation: e.evaluation,
              dataCompleteThrough: p.dataCompleteThrough.toISOString(),
              timezone: p.timezone,
              latenessHours: p.latenessHours,
            }),
          })
          .onConflict('event_key')
          .ignore()
          .returning('id');
        if (!row) continue; // the same notice was recorded before (the ledger rows exist with it)
        const eventId = String(row.id);
        await planDeliveries(
          trx,
          e.rule.recipients.map((recipient) => ({
            dedupeKey: `${eventKey}/${recipient}`,
            kind: 'alert' as const,
            accountId: input.accountId,
            reference: { eventId },
            recipient,
          })),
          mailDomain,
        );
        notices.push({
          eventId,
          ruleId: e.rule.id,
          kind: e.rule.kind,
          scopeKey: e.scopeKey,
          notify: next.notify,
          window,
          message: e.evaluation.message,
        });
      }
      // one statement per 1 000 states, not one per scope (20 000 scopes per rule at 1 000 orgs × 20 products)
      for (let i = 0; i < stateRows.length; i += 1000) {
        await trx('alert_states')
          .insert(stateRows.slice(i, i + 1000))
          .onConflict(['account_id', 'rule_id', 'scope_key'])
          .merge();
      }
      return {
        accountId: input.accountId,
        asOf: p.asOf.toISOString(),
        rules: rules.length,
        evaluated: evaluated.filter((e) => e.evaluation.evaluated).length,
        notEvaluated: evaluated.filter((e) => !e.evaluation.evaluated).length,
        firing: evaluated.filter((e) => e.evaluation.firing).length,
        notices,
      };
    },
    { isolationLevel: 'repeatable read' },
  );
}

/** Alert ledger rows still to send (pending, or claimed without an outcome), created within the retry window. */
export async function pendingAlertDeliveries(
  db: Knex,
  accountId: string,
  withinMs: number,
): Promise<{ id: string; recipient: string }[]> {
  return db('deliveries')
    .where({ account_id: accountId, kind: 'alert' })
    .whereIn('status', ['pending', 'sending'])
    .where('created_at', '>', db.raw(`now() - make_interval(secs => ?)`, [withinMs / 1000]))
    .orderBy('id')
    .select(db.raw('id::text AS id'), 'recipient');
}
