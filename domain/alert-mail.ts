import type { AlertKind } from './alerts';

/** The mail of one alert notice: pure, so the same event always gives the same bytes. */

export interface AlertMailInput {
  accountId: string;
  ruleId: string;
  kind: AlertKind;
  notify: 'fire' | 'renotify' | 'resolve' | 'retract';
  scopeKey: string;
  window: string;
  asOf: string;
  message: string;
  dataCompleteThrough?: string;
  timezone?: string;
  latenessHours?: number;
  rule: Record<string, unknown>;
}

const WHAT: Record<AlertKind, string> = {
  threshold: 'usage threshold',
  spike: 'usage spike',
  drop: 'usage drop',
  stall: 'data stopped arriving',
};

const HEAD: Record<AlertMailInput['notify'], string> = {
  fire: 'ALERT',
  renotify: 'STILL FIRING',
  resolve: 'RESOLVED',
  retract: 'RETRACTED',
};

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** The rule in words: what it watches and when it fires. */
export function ruleText(rule: Record<string, unknown>, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  const scope = (rule.scope ?? {}) as { org?: string; product?: string; tags?: string[] };
  const where = [
    scope.product ? `product ${scope.product}` : 'every product',
    scope.org ? `org ${scope.org}` : rule.kind === 'threshold' ? 'the whole account' : 'every org',
    ...(scope.tags?.length ? [`tags ${scope.tags.join(', ')}`] : []),
  ].join(', ');
  switch (rule.kind) {
    case 'threshold':
      return rule.above !== undefined
        ? `${rule.measure === 'projected' ? 'projected' : 'month-to-date'} billable usage above ${String(rule.above)}${u} (${where})`
        : `${rule.measure === 'projected' ? 'projected' : 'month-to-date'} billable usage at ≥ ${String(rule.percent_of_included)} % of the included quantity (${where})`;
    case 'spike':
    case 'drop':
      return (
        `the last complete day against the median of the 14 complete days before it: ` +
        `${rule.kind === 'spike' ? 'an increase' : 'a decrease'} of ≥ ${String(rule.change_percent)} % and ` +
        `≥ ${String(rule.min_units)}${u} (${where})`
      );
    default:
      return `an org${scope.product ? '/product' : ''} with usage in the last 7 days sends no data for longer than the lateness window (${where})`;
  }
}

export function renderAlertMail(e: AlertMailInput): { subject: string; text: string; html: string } {
  const subject = `[orgtally] ${HEAD[e.notify]} ${e.accountId}: ${WHAT[e.kind]} — ${e.ruleId} (${e.scopeKey})`;
  const lead =
    e.notify === 'resolve'
      ? 'The condition no longer holds.'
      : e.notify === 'retract'
        ? 'Restated data shows the condition did not hold for this window after all: disregard the earlier alert.'
        : e.notify === 'renotify'
          ? 'The condition still holds.'
          : 'The condition holds.';
  const facts: [string, string][] = [
    ['Account', e.accountId],
    ['Rule', `${e.ruleId}: ${ruleText(e.rule)}`],
    ['Scope', e.scopeKey],
    ['Window', e.window],
    ['Evaluated at', e.asOf],
    ...(e.dataCompleteThrough
      ? ([['Data complete through', e.dataCompleteThrough]] as [string, string][])
      : []),
    ...(e.timezone ? ([['Days in', e.timezone]] as [string, string][]) : []),
    ...(e.latenessHours !== undefined
      ? ([['Lateness window', `${e.latenessHours} h`]] as [string, string][])
      : []),
  ];
  const text =
    `${HEAD[e.notify]}: ${WHAT[e.kind]}\n\n${e.message}\n\n${lead}\n\n` +
    facts.map(([k, v]) => `${k}: ${v}`).join('\n') +
    '\n\nFigures are provisional estimates from the usage received so far (orgtally).\n';
  const html =
    `<!doctype html><html><body style="font-family:sans-serif">` +
    `<h2>${escapeHtml(`${HEAD[e.notify]}: ${WHAT[e.kind]}`)}</h2>` +
    `<p><strong>${escapeHtml(e.message)}</strong></p><p>${escapeHtml(lead)}</p>` +
    `<table cellpadding="4">${facts
      .map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
      .join('')}</table>` +
    `<p style="color:#666">Figures are provisional estimates from the usage received so far (orgtally).</p>` +
    `</body></html>`;
  return { subject, text, html };
}
