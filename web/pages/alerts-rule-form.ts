import { html, type Html } from '../html';
import { csrfField, refusal } from '../layout';
import { blankRow, fieldName, KINDS, type RuleField, type RuleRow } from './alerts-rule-rows';

/**
 * The rule editor: one group of fields per rule, with a "remove" box, and one empty group for a new rule.
 * Saving replaces the account's rules with what the form holds, as `account apply` and the API's PUT do.
 */
export interface RuleFormOptions {
  csrf: string;
  rows: readonly RuleRow[];
  orgs: ReadonlyMap<string, string>;
  products: readonly { code: string; unit: string }[];
  error?: string;
}

const text = (i: number, f: RuleField, row: RuleRow, label: string, hint?: string, decimal = false): Html => {
  const id = fieldName(i, f);
  return html`<div class="field">
    <label for="${id}">${label}</label>
    ${hint ? html`<span class="hint" id="${id}-hint">${hint}</span>` : ''}
    <input
      type="text"
      id="${id}"
      name="${id}"
      value="${row[f]}"
      ${decimal ? html`inputmode="decimal"` : ''}
      ${hint ? html`aria-describedby="${id}-hint"` : ''}
    />
  </div>`;
};

const select = (
  i: number,
  f: RuleField,
  row: RuleRow,
  label: string,
  options: readonly { value: string; label: string }[],
): Html => {
  const id = fieldName(i, f);
  // A refused value that is not among the options (a forged or stale one) is kept, so the refusal makes sense.
  const all = options.some((o) => o.value === row[f])
    ? options
    : [...options, { value: row[f], label: row[f] }];
  return html`<div class="field">
    <label for="${id}">${label}</label>
    <select id="${id}" name="${id}">
      ${all.map((o) => html`<option value="${o.value}" ${o.value === row[f] ? html`selected` : ''}>${o.label}</option>`)}
    </select>
  </div>`;
};

function ruleFields(i: number, row: RuleRow, o: RuleFormOptions, isNew: boolean): Html {
  const orgs = [
    { value: '', label: 'Whole account' },
    ...[...o.orgs].map(([id, name]) => ({ value: id, label: `${name} (${id})` })),
  ];
  const products = [
    { value: '', label: 'Every product' },
    ...o.products.map((p) => ({ value: p.code, label: `${p.code} (${p.unit})` })),
  ];
  const removeId = fieldName(i, 'remove');
  return html`<fieldset class="rule">
    <legend>${isNew ? 'New rule (leave the id empty to add none)' : `Rule ${i + 1}: ${row.id}`}</legend>
    <div class="rule-fields">
      ${text(i, 'id', row, 'Rule id', 'lower-case letters, digits, _ . -')}
      ${select(
        i,
        'kind',
        row,
        'Kind',
        KINDS.map((k) => ({ value: k, label: k })),
      )}
      ${select(i, 'org', row, 'Organization', orgs)} ${select(i, 'product', row, 'Product', products)}
      ${text(i, 'tags', row, 'Tags (optional)', 'e.g. team:web, env:prod')}
      ${text(i, 'recipients', row, 'Recipients', 'e-mail addresses, separated by commas')}
      ${text(i, 'renotify', row, 'Remind every (optional)', 'e.g. 24h or 3d')}
    </div>
    <div class="rule-fields">
      ${select(i, 'measure', row, 'Threshold: measure', [
        { value: 'mtd', label: 'month to date' },
        { value: 'projected', label: 'projected month' },
      ])}
      ${text(i, 'above', row, 'Threshold: above', 'units of the product', true)}
      ${text(i, 'percent_of_included', row, 'Threshold: or % of included', 'whole account only', true)}
      ${text(i, 'change_percent', row, 'Spike/drop: change %', 'against the 14-day median', true)}
      ${text(i, 'min_units', row, 'Spike/drop: at least', 'units of change', true)}
    </div>
    ${
      isNew
        ? ''
        : html`<div class="field checkbox">
            <input
              type="checkbox"
              id="${removeId}"
              name="${removeId}"
              value="yes"
              ${row.remove === 'yes' ? html`checked` : ''}
            />
            <label for="${removeId}">Remove this rule</label>
          </div>`
    }
  </fieldset>`;
}

export function ruleForm(o: RuleFormOptions): Html {
  // The last row is the new one: a refused form comes back with its rows as they were sent, new row last.
  const rows = o.error && o.rows.length ? o.rows : [...o.rows, blankRow()];
  return html`<form method="post" action="/alerts/rules" class="rules" id="edit-rules">
    ${refusal(o.error)} ${csrfField(o.csrf)}
    <input type="hidden" name="rules" value="${String(rows.length)}" />
    <p class="hint">
      A <strong>threshold</strong> fires when the month-to-date or projected usage of one product goes above a
      number, or (for the whole account) above a percent of the included quantity. A <strong>spike</strong> or
      <strong>drop</strong> compares a day with the median of the 14 days before it and fires when the change
      is at least the percent <em>and</em> at least the units given. A <strong>stall</strong> fires when data
      stops arriving. Fields of another kind are ignored.
    </p>
    ${rows.map((r, i) => ruleFields(i, r, o, i === rows.length - 1))}
    <button type="submit">Save the alert rules</button>
  </form>`;
}
