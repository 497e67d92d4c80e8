import { HOUR_MS } from './time';

/**
 * Alert notifications: when a (rule, scope) notifies, and the identity of each notice for the exactly-once ledger.
 * Pure: asOf is an input.
 *
 * - notifications per (rule, scope key), `nextAlertState`: ok → firing sends `fire` once; while it keeps
 *   firing nothing is sent unless `renotify` hours passed since the last notice (`renotify`); firing → ok
 *   sends exactly one `resolve`, or `retract` when the evaluation that no longer fires is for the SAME window
 *   the state is firing for (restated data: that window did not fire after all); ok → ok sends nothing. Two
 *   additions the issue leaves open: an evaluation that was not made (`evaluated: false`) changes nothing,
 *   and one for a window older than the state's (windows of a rule sort chronologically as text) is stale and
 *   changes nothing.
 * - event identity for the exactly-once ledger: `alert/<account>/<rule>/<scope>/<window>/<notify>`; a
 *   renotify also carries its instant (`renotify@<ISO>`), since one window can be renotified many times.
 */

// ---------------------------------------------------------------------------------------- notification state

export type AlertNotify = 'fire' | 'renotify' | 'resolve' | 'retract' | 'none';

/**
 * The stored state of one (rule, scope key). `window`: the latest window evaluated (while firing: firing).
 */
export interface AlertState {
  state: 'ok' | 'firing';
  lastNotifiedMs?: number;
  window?: string;
}

export interface AlertTransition extends AlertState {
  notify: AlertNotify;
  /**
   * The window the notice is about: the firing window for fire/renotify, the window that was firing for
   * resolve/retract.
   */
  noticeWindow?: string;
}

/**
 * The next state of one (rule, scope key) and the notice to send. `renotifyHours` unset or ≤ 0: never
 * renotify.
 */
export function nextAlertState(
  previous: AlertState | undefined,
  evaluation: { firing: boolean; window: string; evaluated?: boolean },
  opts: { asOfMs: number; renotifyHours?: number },
): AlertTransition {
  const keep = (): AlertTransition => ({ ...(previous ?? { state: 'ok' }), notify: 'none' });
  if (evaluation.evaluated === false) return keep();
  if (previous?.window !== undefined && evaluation.window < previous.window) return keep(); // stale
  const { asOfMs } = opts;
  const w = evaluation.window;

  if (previous === undefined || previous.state === 'ok') {
    if (evaluation.firing)
      return { state: 'firing', lastNotifiedMs: asOfMs, window: w, notify: 'fire', noticeWindow: w };
    return { ...(previous ?? { state: 'ok' }), state: 'ok', window: w, notify: 'none' };
  }

  if (evaluation.firing) {
    const every = opts.renotifyHours ?? 0;
    const last = previous.lastNotifiedMs;
    if (every > 0 && (last === undefined || asOfMs - last >= every * HOUR_MS))
      return { state: 'firing', lastNotifiedMs: asOfMs, window: w, notify: 'renotify', noticeWindow: w };
    return { ...previous, window: w, notify: 'none' };
  }

  const notify = previous.window === w ? 'retract' : 'resolve';
  return {
    state: 'ok',
    lastNotifiedMs: asOfMs,
    window: w,
    notify,
    ...(previous.window === undefined ? {} : { noticeWindow: previous.window }),
  };
}

// -------------------------------------------------------------------------------------------------- identity

/** `/` separates the parts of a key; `%` and `/` inside a part are escaped so that keys stay unambiguous. */
const part = (s: string): string => s.replace(/%/g, '%25').replace(/\//g, '%2F');

/**
 * A stable key for the evaluated scope: `account` when unscoped, else `org=…;product=…;tags=a:b,c:d`
 * (sorted).
 */
export function alertScopeKey(scope: { org?: string; product?: string; tags?: readonly string[] }): string {
  const parts: string[] = [];
  if (scope.org !== undefined) parts.push(`org=${scope.org}`);
  if (scope.product !== undefined) parts.push(`product=${scope.product}`);
  if (scope.tags && scope.tags.length > 0) parts.push(`tags=${[...new Set(scope.tags)].sort().join(',')}`);
  return parts.length === 0 ? 'account' : parts.join(';');
}

/**
 * The identity of one alert notice: `alert/<account>/<rule>/<scope>/<window>/<notify>`. A renotify happens
 * many times for one window, so it carries its instant: `…/renotify@<ISO instant>` (`atMs` is required for
 * it).
 */
export function alertEventKey(e: {
  accountId: string;
  ruleId: string;
  scopeKey: string;
  window: string;
  notify: Exclude<AlertNotify, 'none'>;
  atMs?: number;
}): string {
  let notify: string = e.notify;
  if (e.notify === 'renotify') {
    if (e.atMs === undefined) throw new Error('a renotify event key needs its instant (atMs)');
    notify = `renotify@${new Date(e.atMs).toISOString()}`;
  }
  return ['alert', e.accountId, e.ruleId, e.scopeKey, e.window, notify].map(part).join('/');
}
