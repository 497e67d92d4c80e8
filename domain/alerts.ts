import { plainNumberText } from './decimal';
import { add, cmp, dec, divRound, mul, sub, text, ZERO, type Dec } from './exact';
import { HOUR_MS, isoHour } from './time';
import { normalizeSeries } from './trends';
import { instantMs, isDayComplete, isoInstant, lastCompleteDay, zonedDayEndMs } from './alert-days';

/**
 * The rule math of usage alerts (the `alerts` of an account spec). Pure: no I/O, no clock: asOf is an input.
 *
 * - Quantities are exact decimal strings, computed with domain/exact.ts (BigInt); never JS floats. Percent
 *   conditions are compared exactly by cross-multiplying (value × 100 ≥ p × base); the percents shown in
 *   messages are rounded half away from zero to one decimal and are never what decides.
 * - threshold: the measure is the month-to-date (`mtd`) or `projected` billable usage of the rule's scope,
 *   passed by the caller. With `above` it fires when value > above; with `percent_of_included` when
 *   value ≥ p % of the included quantity (passed by the caller). A percent rule with an included quantity of
 *   0 (or none) does not fire and says why. The ratio (value as a percent of `above` or of the included
 *   quantity, one decimal) is returned for the message. Window: the month for `mtd` (it only grows, so a
 *   lower restated value for the same month is a retraction); `<month>@<as-of hour>` for `projected` (a
 *   projection moves both ways: falling below the limit later is a resolution, not a retraction).
 * - spike / drop: the value of day D (the last of 15 daily values, oldest first) against the MEDIAN of the 14
 *   complete days before D. A null value means the scope did not exist yet; after its first value a day
 *   without usage counts as 0. The median is over the days that existed (14 values: mean of the 7th and 8th
 *   smallest, exact); with fewer than 7 such days the rule is not evaluated and says so. It fires when the
 *   change is at least `change_percent` % of the median AND at least `min_units` in absolute terms (spike: an
 *   increase, drop: a decrease). A median of 0: a spike fires on the absolute floor alone (percent reported
 *   as `new`), a drop cannot fire. The message states the value, the median and over how many complete days,
 *   the change in percent and in units, and the rule's limits. Window: the day D.
 * - stall: a scope that had usage in the last 7 days and whose last hour with data ended longer than the
 *   lateness window before asOf (asOf − (last hour + 1 h) > lateness) fires "data stopped arriving since
 *   <hour>". A stall is never reported as a drop: a drop evaluation told that the scope is stalled since
 *   before D ended is refused, and so is one for a day D without any data (null; explicit zeros are data),
 *   also after data resumed: the gap was a stall. Window: the last hour with data (data arriving again moves it: the stall
 *   resolves).
 */

export type AlertKind = 'threshold' | 'spike' | 'drop' | 'stall';

/** The 15 daily values of a spike/drop evaluation: 14 baseline days and day D. */
export const CHANGE_DAYS = 15;
export const BASELINE_DAYS = CHANGE_DAYS - 1;
/** With fewer baseline days than this (a new scope), spike and drop are not evaluated. */
export const MIN_BASELINE_DAYS = 7;
/** Stall watches scopes with usage in this many days before asOf (the caller decides which). */
export const STALL_ACTIVE_DAYS = 7;

const HUNDRED = dec(100);
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Exact decimal from a spec number (`80`, `12.5`) or text, never through exponent notation. */
const decOf = (v: number | string): Dec => dec(typeof v === 'number' ? plainNumberText(v) : v);

/** Percent one decimal, half away from zero: part / base × 100 (base > 0). */
const percentOf = (part: Dec, base: Dec): string => text(divRound(mul(part, HUNDRED), base, 1));

const signed = (s: string): string => (s.startsWith('-') || s === '0' ? s : `+${s}`);

const withUnit = (v: Dec | string, unit: string): string => {
  const t = typeof v === 'string' ? v : text(v);
  return unit ? `${t} ${unit}` : t;
};

export function median(values: readonly string[]): string {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = values.map((v) => dec(v)).sort(cmp);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return text(sorted[mid] as Dec);
  const s = add(sorted[mid - 1] as Dec, sorted[mid] as Dec);
  return text({ n: s.n * 5n, s: s.s + 1 }); // s / 2, exact
}

/** Common to every evaluation. Only evaluations with `evaluated: true` may change an alert's state. */
export interface AlertEvaluationBase {
  kind: AlertKind;
  /** false: the rule could not be evaluated (`message` says why); `firing` is then false. */
  evaluated: boolean;
  firing: boolean;
  window: string;
  /**
   * One human sentence: what was measured, against what, and the rule's limits (or why it was not evaluated).
   */
  message: string;
}

// ------------------------------------------------------------------------------------------------- threshold

export interface ThresholdRule {
  measure?: 'mtd' | 'projected';
  above?: string;
  percent_of_included?: number | string;
}

export interface ThresholdInput {
  /** What is measured, for the message: e.g. "infra_hosts for client-a". */
  subject: string;
  unit: string;
  /** The month measured, YYYY-MM. */
  month: string;
  asOfMs: number;
  /** Month-to-date or projected billable usage of the scope, as the rule's `measure` says. */
  value: string;
  /** The included (committed) quantity, for `percent_of_included` rules. */
  included?: string | null;
}

export interface ThresholdEvaluation extends AlertEvaluationBase {
  kind: 'threshold';
  measure: 'mtd' | 'projected';
  value: string;
  /** `above`, or p % of the included quantity; null when a percent rule has nothing included. */
  limit: string | null;
  /** The value as a percent of `above` or of the included quantity, one decimal; null when that is 0. */
  percent: string | null;
}

/** `mtd`: the month; `projected`: the month and the as-of hour (a projection falls as well as rises). */
export function thresholdWindow(measure: 'mtd' | 'projected', month: string, asOfMs: number): string {
  if (!MONTH.test(month)) throw new Error(`"${month}" is not a month (YYYY-MM)`);
  return measure === 'mtd' ? month : `${month}@${isoHour(Math.floor(asOfMs / HOUR_MS) * HOUR_MS)}`;
}

export function evaluateThreshold(rule: ThresholdRule, input: ThresholdInput): ThresholdEvaluation {
  const measure = rule.measure ?? 'mtd';
  if ((rule.above === undefined) === (rule.percent_of_included === undefined))
    throw new Error('a threshold rule needs exactly one of "above" or "percent_of_included"');
  const window = thresholdWindow(measure, input.month, input.asOfMs);
  const value = dec(input.value);
  const u = input.unit;
  const what = measure === 'mtd' ? 'month-to-date' : 'projected';
  const head = `${input.subject}: ${what} usage for ${input.month} is ${withUnit(value, u)}`;
  const base = { kind: 'threshold' as const, evaluated: true, measure, window, value: text(value) };

  if (rule.above !== undefined) {
    const above = dec(rule.above);
    const firing = cmp(value, above) > 0;
    const percent = cmp(above, ZERO) > 0 ? percentOf(value, above) : null;
    const ratio = percent === null ? '' : `, ${percent} % of ${withUnit(above, u)}`;
    return {
      ...base,
      firing,
      limit: text(above),
      percent,
      message: `${head}${ratio}; fires above ${withUnit(above, u)}`,
    };
  }

  const p = decOf(rule.percent_of_included as number | string);
  const included = input.included === undefined || input.included === null ? ZERO : dec(input.included);
  if (cmp(included, ZERO) <= 0) {
    return {
      ...base,
      firing: false,
      limit: null,
      percent: null,
      message: `${head}; cannot fire: the included quantity is 0 and the rule is ≥ ${text(p)} % of included`,
    };
  }
  // value ≥ p % × included  ⇔  value × 100 ≥ p × included (exact)
  const firing = cmp(mul(value, HUNDRED), mul(p, included)) >= 0;
  const percent = percentOf(value, included);
  return {
    ...base,
    firing,
    limit: text({ n: mul(p, included).n, s: p.s + included.s + 2 }), // p × included / 100, exact
    percent,
    message:
      `${head}, ${percent} % of the ${withUnit(included, u)} included;` +
      ` fires at ≥ ${text(p)} % of included`,
  };
}

// ---------------------------------------------------------------------------------------------- spike / drop

export interface ChangeRule {
  kind: 'spike' | 'drop';
  change_percent: number | string;
  min_units: string;
}

export interface ChangeInput {
  /** What is measured, for the message: e.g. "logs_ingested_bytes for client-a". */
  subject: string;
  unit: string;
  /** Day D, YYYY-MM-DD in the account's time zone: the day of the last value. */
  day: string;
  /** 15 daily values, oldest first (D−14 … D); null: the scope did not exist yet. */
  values: readonly (string | null)[];
  asOf: number | string;
  latenessHours: number;
  timeZone: string;
  /**
   * The scope's stall inputs (see `isStalled`). A drop is not evaluated for a scope stalled since before D
   * ended: missing data is a stall, never a drop.
   */
  stall?: { lastDataMs: number | null; hadUsageInLast7Days: boolean };
}

export interface ChangeEvaluation extends AlertEvaluationBase {
  kind: 'spike' | 'drop';
  value: string | null;
  /** The median of the baseline days; null when not evaluated for lack of history. */
  baseline: string | null;
  /** How many of the 14 days before D the scope existed (the median's count). */
  baselineDays: number;
  /** value − baseline. */
  change: string | null;
  /** Signed percent of the baseline, one decimal ("+80", "-40", "0"), or "new" from a baseline of 0. */
  percent: string | null;
}

export function evaluateChange(rule: ChangeRule, input: ChangeInput): ChangeEvaluation {
  if (input.values.length !== CHANGE_DAYS)
    throw new Error(
      `a ${rule.kind} evaluation needs ${CHANGE_DAYS} daily values, got ${input.values.length}`,
    );
  const { subject, unit: u, day, latenessHours, timeZone } = input;
  const asOfMs = instantMs(input.asOf);
  const head = `${subject} on ${day}`;
  const none = { kind: rule.kind, evaluated: false, firing: false, window: day, change: null, percent: null };
  const refuse = (message: string) => ({ ...none, value: null, baseline: null, baselineDays: 0, message });

  const dayEnd = zonedDayEndMs(day, timeZone);
  if (!isDayComplete(dayEnd, latenessHours, asOfMs)) {
    const completeAt = dayEnd + latenessHours * HOUR_MS;
    const lastComplete = lastCompleteDay(asOfMs, latenessHours, timeZone);
    return refuse(
      `${head}: not evaluated: the day is not complete until ${isoInstant(completeAt)}` +
        ` (its end + ${latenessHours} h lateness); the last complete day is ${lastComplete}`,
    );
  }
  const stall = input.stall;
  if (
    rule.kind === 'drop' &&
    stall &&
    stall.lastDataMs !== null &&
    isStalled(stall.lastDataMs, asOfMs, latenessHours, stall.hadUsageInLast7Days) &&
    stall.lastDataMs + HOUR_MS < dayEnd
  ) {
    return refuse(
      `${head}: not evaluated: data stopped arriving since ${isoHour(stall.lastDataMs)};` +
        ' that is a stall, not a drop',
    );
  }

  // No data at all on D (explicit zeros are data): a gap, which the stall rule reports, never a drop.
  if (
    rule.kind === 'drop' &&
    (input.values[BASELINE_DAYS] ?? null) === null &&
    input.values.some((v) => v !== null && v !== undefined)
  ) {
    return refuse(`${head}: not evaluated: no data arrived for the day; a gap is a stall, not a drop`);
  }

  const series = normalizeSeries(input.values);
  const baselineValues = series.slice(0, BASELINE_DAYS).filter((v): v is string => v !== null);
  const current = series[BASELINE_DAYS] ?? null;
  if (baselineValues.length < MIN_BASELINE_DAYS || current === null) {
    return {
      ...none,
      value: current === null ? null : text(dec(current)),
      baseline: null,
      baselineDays: baselineValues.length,
      message:
        `${head}: not evaluated: the scope existed on only ${baselineValues.length} of the` +
        ` ${BASELINE_DAYS} complete days before (at least ${MIN_BASELINE_DAYS} needed)`,
    };
  }

  const value = dec(current);
  const baseline = dec(median(baselineValues));
  const change = sub(value, baseline);
  const minUnits = dec(rule.min_units);
  const pct = decOf(rule.change_percent);
  const n = baselineValues.length;
  const zeroBase = cmp(baseline, ZERO) === 0;
  const percent = zeroBase ? (cmp(value, ZERO) > 0 ? 'new' : '0') : signed(percentOf(change, baseline));
  // The move in the rule's direction: an increase for a spike, a decrease for a drop.
  const move = rule.kind === 'spike' ? change : sub(ZERO, change);
  const enoughUnits = cmp(move, ZERO) > 0 && cmp(move, minUnits) >= 0;
  // move ≥ p % × baseline  ⇔  move × 100 ≥ p × baseline (exact).
  // A baseline of 0: a spike fires on the units alone, a drop cannot fire.
  const enoughPercent = zeroBase ? rule.kind === 'spike' : cmp(mul(move, HUNDRED), mul(pct, baseline)) >= 0;
  const firing = enoughUnits && enoughPercent;

  const over =
    n === BASELINE_DAYS
      ? `the ${n} complete days before`
      : `the ${n} complete days before (it did not exist earlier)`;
  const limits =
    rule.kind === 'spike'
      ? `fires at ≥ ${text(pct)} % and ≥ ${withUnit(minUnits, u)}`
      : `fires at a decrease of ≥ ${text(pct)} % and ≥ ${withUnit(minUnits, u)}`;
  const noDrop = rule.kind === 'drop' && zeroBase ? '; a drop cannot fire from a median of 0' : '';
  return {
    kind: rule.kind,
    evaluated: true,
    firing,
    window: day,
    value: text(value),
    baseline: text(baseline),
    baselineDays: n,
    change: text(change),
    percent,
    message:
      `${head}: ${withUnit(value, u)} vs a median of ${withUnit(baseline, u)} over ${over}` +
      ` (${percent === 'new' ? 'new' : `${percent} %`}, ${withUnit(signed(text(change)), u)});` +
      ` ${limits}${noDrop}`,
  };
}

// ----------------------------------------------------------------------------------------------------- stall

/**
 * A scope with usage in the last 7 days whose data stopped: nothing after the hour `lastDataMs` (the start of
 * the last hour with data) for longer than the lateness window at asOf, i.e. asOf − (lastDataMs + 1 h) >
 * lateness.
 */
export function isStalled(
  lastDataMs: number | null,
  asOfMs: number,
  latenessHours: number,
  hadUsageInLast7Days: boolean,
): boolean {
  if (!hadUsageInLast7Days || lastDataMs === null) return false;
  return asOfMs - (lastDataMs + HOUR_MS) > latenessHours * HOUR_MS;
}

export interface StallInput {
  subject: string;
  lastDataMs: number | null;
  asOfMs: number;
  latenessHours: number;
  hadUsageInLast7Days: boolean;
}

export interface StallEvaluation extends AlertEvaluationBase {
  kind: 'stall';
  /** The last hour with data (ISO), null when there is none. */
  since: string | null;
}

/**
 * Not evaluated when the scope had no usage in the last 7 days (it is not watched: a firing stall keeps its
 * state until data arrives again, instead of resolving or retracting because it aged out).
 */
export function evaluateStall(input: StallInput): StallEvaluation {
  const { subject, lastDataMs, asOfMs, latenessHours } = input;
  if (!input.hadUsageInLast7Days || lastDataMs === null) {
    return {
      kind: 'stall',
      evaluated: false,
      firing: false,
      window: lastDataMs === null ? '' : isoHour(lastDataMs),
      since: lastDataMs === null ? null : isoHour(lastDataMs),
      message: `${subject}: not evaluated: no usage in the last ${STALL_ACTIVE_DAYS} days`,
    };
  }
  const since = isoHour(lastDataMs);
  const firing = isStalled(lastDataMs, asOfMs, latenessHours, true);
  const quiet = Math.floor((asOfMs - (lastDataMs + HOUR_MS)) / HOUR_MS);
  return {
    kind: 'stall',
    evaluated: true,
    firing,
    window: since,
    since,
    message: firing
      ? `${subject}: data stopped arriving since ${since}` +
        ` (no data for ${quiet} h, more than the ${latenessHours} h lateness window)`
      : `${subject}: data arriving (last hour with data ${since},` +
        ` within the ${latenessHours} h lateness window)`,
  };
}
