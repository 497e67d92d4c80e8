import { ErrorType, OrgtallyError } from '../../domain/errors';
import type { AlertRuleSpec } from '../../domain/spec';

/**
 * The rule editor's model: one row of plain text fields per rule, as the form shows and sends them. A rule
 * becomes a row to be shown, a submitted row becomes a rule for the account spec; the spec's own check
 * (domain/spec.ts) decides what is valid, so the editor cannot accept a rule `account apply` would refuse.
 */
export const RULE_FIELDS = [
  'id',
  'kind',
  'org',
  'product',
  'tags',
  'measure',
  'above',
  'percent_of_included',
  'change_percent',
  'min_units',
  'recipients',
  'renotify',
  'remove',
] as const;
export type RuleField = (typeof RULE_FIELDS)[number];
export type RuleRow = Record<RuleField, string>;

export const KINDS = ['threshold', 'spike', 'drop', 'stall'] as const;
/** The form sends `rules` rows at most: far more than an account keeps, few enough to bound the work. */
export const MAX_ROWS = 200;

export const fieldName = (i: number, f: RuleField) => `r${i}_${f}`;

export const blankRow = (): RuleRow => ({
  ...(Object.fromEntries(RULE_FIELDS.map((f) => [f, ''])) as RuleRow),
  kind: 'threshold',
  measure: 'mtd',
});

const numText = (v: number | string | undefined) => (v === undefined ? '' : String(v));

export function rowOf(r: AlertRuleSpec): RuleRow {
  return {
    ...blankRow(),
    id: r.id,
    kind: r.kind,
    org: r.scope.org ?? '',
    product: r.scope.product ?? '',
    tags: (r.scope.tags ?? []).join(', '),
    measure: r.kind === 'threshold' ? r.measure : 'mtd',
    above: r.kind === 'threshold' ? numText(r.above) : '',
    percent_of_included: r.kind === 'threshold' ? numText(r.percent_of_included) : '',
    change_percent: r.kind === 'spike' || r.kind === 'drop' ? numText(r.change_percent) : '',
    min_units: r.kind === 'spike' || r.kind === 'drop' ? numText(r.min_units) : '',
    recipients: r.recipients.join(', '),
    renotify: r.renotify ?? '',
  };
}

/** The rows of a submitted (or refused) form, in their order; undefined when its row count is not readable. */
export function rowsFromForm(form: Record<string, string>): RuleRow[] | undefined {
  const count = Number(form.rules);
  if (!/^\d{1,3}$/.test(form.rules ?? '') || count > MAX_ROWS) return undefined;
  return Array.from(
    { length: count },
    (_, i) => Object.fromEntries(RULE_FIELDS.map((f) => [f, form[fieldName(i, f)]?.trim() ?? ''])) as RuleRow,
  );
}

/** A row nobody filled in: the empty "new rule" row, sent back as it was. */
const isBlank = (r: RuleRow) =>
  RULE_FIELDS.every((f) => f === 'kind' || f === 'measure' || f === 'remove' || r[f] === '');

const list = (v: string) => v.split(/[\s,;]+/).filter(Boolean);

function percentOf(row: RuleRow, label: string, field: 'percent_of_included' | 'change_percent') {
  const v = row[field];
  if (v === '') return undefined;
  // The spec takes percents as JSON numbers; a decimal written here is one exactly (no exponent, no sign).
  if (!/^\d{1,6}(\.\d{1,6})?$/.test(v))
    throw new OrgtallyError(
      ErrorType.InvalidInput,
      `${label}: ${field}: "${v}" is not a percent, e.g. 80 or 12.5`,
    );
  return Number(v);
}

export interface BuiltRules {
  rules: Record<string, unknown>[];
  /** For each rule, how the refusal names it: `Rule "logs-spike" (row 2)`. */
  labels: string[];
}

/**
 * The rules of the submitted rows, left out the rows marked for removal and the blank new row. Only the
 * fields of a rule's kind are taken: a threshold switched to a spike does not keep its `above`.
 */
export function rulesOf(rows: readonly RuleRow[]): BuiltRules {
  const out: BuiltRules = { rules: [], labels: [] };
  rows.forEach((row, i) => {
    if (row.remove === 'yes' || isBlank(row)) return;
    const label = `Rule ${row.id ? `"${row.id}" ` : ''}(row ${i + 1})`;
    const scope = {
      ...(row.org ? { org: row.org } : {}),
      ...(row.product ? { product: row.product } : {}),
      ...(row.tags ? { tags: list(row.tags) } : {}),
    };
    const rule: Record<string, unknown> = {
      id: row.id,
      kind: row.kind,
      scope,
      recipients: list(row.recipients),
      ...(row.renotify ? { renotify: row.renotify } : {}),
    };
    if (row.kind === 'threshold') {
      rule.measure = row.measure || 'mtd';
      if (row.above) rule.above = row.above;
      const p = percentOf(row, label, 'percent_of_included');
      if (p !== undefined) rule.percent_of_included = p;
    } else if (row.kind === 'spike' || row.kind === 'drop') {
      const p = percentOf(row, label, 'change_percent');
      if (p !== undefined) rule.change_percent = p;
      if (row.min_units) rule.min_units = row.min_units;
    }
    out.rules.push(rule);
    out.labels.push(label);
  });
  return out;
}

/** A spec issue of `$.alerts[i]…` named by its rule row; any other path (none is expected) as it is. */
export function issueText(labels: readonly string[], path: string, message: string): string {
  const m = /^\$\.alerts\[(\d+)\]\.?(.*)$/.exec(path);
  if (!m) return `${path}: ${message}`;
  const label = labels[Number(m[1])] ?? `Rule ${Number(m[1]) + 1}`;
  return m[2] ? `${label}: ${m[2]}: ${message}` : `${label}: ${message}`;
}
