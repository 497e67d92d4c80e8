import { dayWords, instantWords, monthWords, qty, signedQty } from './alert-mail-words';
import {
  judgedDay,
  monthOf,
  possessive,
  str,
  tagWords,
  unitOf,
  who,
  type AlertMailInput,
} from './alert-mail-input';

/** The sentences of an alert mail: the rule, and what the notice found, in words with names instead of ids. */

/** The rule in words, with names instead of ids. */
export function ruleText(
  rule: Record<string, unknown>,
  names: { unit?: string; orgName?: string; latenessHours?: number } = {},
): string {
  const unit = names.unit ?? '';
  const scope = (rule.scope ?? {}) as { org?: string; product?: string; tags?: string[] };
  const org = scope.org ? (names.orgName ?? 'one org') : undefined;
  const tags = tagWords(scope.tags ?? []);
  const product = scope.product ?? 'any product';
  switch (rule.kind) {
    case 'threshold': {
      const measure = rule.measure === 'projected' ? 'projected' : 'month-to-date';
      const usage = org
        ? `${measure} usage of ${product}${tags} for ${org}`
        : `${measure} billable usage of ${product}${tags} for the account`;
      return rule.above !== undefined
        ? `fires when the ${usage} is above ${qty(String(rule.above), unit)}`
        : `fires when the ${usage} is at least ${String(rule.percent_of_included)} % of the included quantity`;
    }
    case 'spike':
    case 'drop':
      return (
        `fires when a complete day's usage of ${product}${tags} for ${org ?? 'an org'} is ` +
        `${rule.kind === 'spike' ? 'up' : 'down'} by at least ${String(rule.change_percent)} % and ` +
        `${qty(String(rule.min_units), unit)} against the median of the 14 complete days before it`
      );
    default:
      return (
        `fires when ${org ?? 'an org'}${scope.product ? ` (${scope.product})` : ''} had usage in the last 7 days ` +
        `and sends no data for longer than the ${names.latenessHours ?? 72} h lateness window`
      );
  }
}

function thresholdSentence(e: AlertMailInput): string {
  const ev = e.evaluation;
  const value = str(ev.value);
  const u = unitOf(e);
  if (value === null || !e.product) return e.message;
  const measure = ev.measure === 'projected' ? 'projected' : 'month-to-date';
  const subject = e.orgName
    ? `${possessive(e.orgName)} ${measure} usage`
    : `The account's ${measure} billable usage`;
  const head = `${subject} of ${e.product.code}${tagWords(e.tags)} for ${monthWords(monthOf(e))} is ${qty(value, u)}`;
  const limit = str(ev.limit);
  const pct = str(ev.percent);
  const firing = ev.firing === true;
  if (e.rule.above !== undefined && limit !== null)
    return `${head}: ${firing ? 'above' : 'within'} the limit of ${qty(limit, u)}${pct ? ` (${pct} % of it)` : ''}.`;
  const included = e.estimate?.included;
  const p = String(e.rule.percent_of_included);
  if (limit === null) return `${head}; nothing is included, so a rule at ${p} % of included cannot fire.`;
  return (
    `${head}: ${pct ? `${pct} % of ` : ''}${included ? `the ${qty(included, u)}` : 'the quantity'} included; ` +
    `the rule fires at ${p} % (${qty(limit, u)}).`
  );
}

function changeSentence(e: AlertMailInput): string {
  const ev = e.evaluation;
  const [value, baseline, change] = [str(ev.value), str(ev.baseline), str(ev.change)];
  if (value === null || baseline === null || change === null || !e.product) return e.message;
  const u = unitOf(e);
  const pct = str(ev.percent);
  const pctText = pct === 'new' ? 'new: the median was 0' : `${pct ?? '?'} %`;
  return (
    `${possessive(who(e))} usage of ${e.product.code}${tagWords(e.tags)} on ${dayWords(judgedDay(e))} was ` +
    `${qty(value, u)} against a median of ${qty(baseline, u)} over the ${String(ev.baselineDays)} complete days ` +
    `before: ${signedQty(change, u)} (${pctText}).`
  );
}

function stallSentence(e: AlertMailInput): string {
  const since = str(e.evaluation.since);
  if (since === null) return e.message;
  const of = `${who(e)}${e.product ? ` (${e.product.code})` : ''}`;
  const at = instantWords(since, e.account.timezone);
  return e.evaluation.firing === true
    ? `No data for ${of} has arrived since ${at} (the last hour with data): longer than the ` +
        `${e.account.latenessHours} h lateness window.`
    : `Data for ${of} is arriving again: the last hour with data is ${at}.`;
}

export function sentence(e: AlertMailInput): string {
  if (e.kind === 'threshold') return thresholdSentence(e);
  if (e.kind === 'spike' || e.kind === 'drop') return changeSentence(e);
  return stallSentence(e);
}
