import type { MonthPoint } from './alert-mail-chart';
import type { CommitmentPrice } from './alert-mail-cost';
import { pluralUnit } from './alert-mail-words';
import type { AlertKind } from './alerts';
import { normalizeSeries } from './trends';

/** What the mail of one alert notice is made from (read by db/alert-mail-data.ts), and small readers of it. */

export interface AlertMailInput {
  ruleId: string;
  kind: AlertKind;
  notify: 'fire' | 'renotify' | 'resolve' | 'retract';
  /** The notice's window as stored: the month, `<month>@<hour>`, the day, or the last hour with data. */
  window: string;
  asOf: string;
  /** The stored one-line message: shown only when the evaluation lacks its figures. */
  message: string;
  account: { name: string; timezone: string; currency: string; latenessHours: number };
  /** The scope's org by name; absent for an account-wide threshold. */
  orgName?: string;
  product?: { code: string; unit: string; aggregation: string };
  tags: string[];
  rule: Record<string, unknown>;
  /** The evaluation stored with the notice (domain/alerts.ts): the figures the rule judged. */
  evaluation: Record<string, unknown>;
  dataCompleteThrough?: string;
  /** The product's commitments row; null when it has none (not priced). */
  price: CommitmentPrice | null;
  /** threshold: the account's stored estimate of the product at the notice's hour (null: none stored). */
  estimate?: { projectedBillable: string; included: string } | null;
  /** threshold: the scope's month-to-date and projected figures at the end of each day so far. */
  month?: { month: string; days: string[]; points: MonthPoint[] };
  /** spike / drop: the 15 daily values the rule judged, oldest first (null: the scope did not exist yet). */
  days?: { day: string; value: string | null }[];
}

export interface InlineImage {
  cid: string;
  width: number;
  height: number;
  alt: string;
}

export const str = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
export const possessive = (name: string) => (name.endsWith('s') ? `${name}'` : `${name}'s`);
export const tagWords = (tags: string[]) => (tags.length ? ` tagged ${tags.join(', ')}` : '');
export const unitOf = (e: AlertMailInput) => e.product?.unit ?? '';
export const inUnits = (u: string) => (u ? `, in ${pluralUnit(u)}` : '');
/** The day a spike/drop evaluation judged (a resolve judges a later day than the window it resolves). */
export const judgedDay = (e: AlertMailInput) => str(e.evaluation.window) ?? e.window;
export const monthOf = (e: AlertMailInput) => e.month?.month ?? e.window.slice(0, 7);

/** Who the notice is about: the org by name, or `the account` for an account-wide threshold. */
export const who = (e: AlertMailInput): string => e.orgName ?? 'the account';

/** After the scope's first value a day without usage counts as 0, as the rule counts it. */
export const seriesDays = (days: { day: string; value: string | null }[]) => {
  const values = normalizeSeries(days.map((d) => d.value));
  return days.map((d, i) => ({ day: d.day, value: values[i] ?? null }));
};
