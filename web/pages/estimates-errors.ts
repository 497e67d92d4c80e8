import type { EstimateErrorRow } from '../../db/estimate-reads';
import { monthName, qty, when } from '../format';
import { html, type Html } from '../html';
import { wrap } from '../widgets';

/**
 * How far the estimates of a closed month were from its month-end figure: per product the final billable
 * usage, and the projection made after 25, 50 and 75 % of the month and the last one, with (estimate − actual)
 * / actual in percent. Account-level (the root org's view), as db/estimate-reads.ts estimateErrors measures it.
 */
const TARGETS = [25, 50, 75, 100] as const;

const signedPct = (v: string | null | undefined): Html => {
  if (v === null || v === undefined) return html`<td class="num muted">—</td>`;
  const shown = v.startsWith('-') ? `−${v.slice(1)} %` : /^0(\.0*)?$/.test(v) ? `${v} %` : `+${v} %`;
  return html`<td class="num">${shown}</td>`;
};

const targetName = (t: number) => (t === 100 ? 'last estimate' : `after ${t} %`);
const estimateHead = (t: number) => (t === 100 ? 'Last estimate' : `Estimate after ${t} %`);

export function errorsBlock(
  month: string | undefined,
  e: { version: number | null; rows: EstimateErrorRow[] } | undefined,
): Html {
  if (month === undefined || !e || e.version === null)
    return html`<p>No month has been closed yet: the estimate error is measured against a month's close.</p>`;
  if (!e.rows.length)
    return html`<p>
      No estimates of ${monthName(month)} were stored, so how far they were from its close cannot be measured.
    </p>`;
  // Every product's point of a target is the same run: the runs are the account's.
  const runs = new Map(e.rows.flatMap((r) => r.points.map((p) => [p.target_percent, p] as const)));
  const targets = TARGETS.filter((t) => runs.has(t));
  return html`<p class="hint">
      Against month-end version ${e.version} of ${monthName(month)}. The estimates compared:
      ${targets.map((t, i) => {
        const p = runs.get(t);
        return html`${i ? '; ' : ''}${targetName(t)}: ${when(p?.at)} (${p?.elapsed_percent} % of the month
        elapsed)`;
      })}.
    </p>
    ${wrap(
      html`<table id="estimate-errors">
        <caption>
          Estimate error of ${monthName(month)}: billable usage estimated vs actual
        </caption>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Unit</th>
            <th scope="col" class="num">Actual</th>
            ${targets.map(
              (t) =>
                html`<th scope="col" class="num">${estimateHead(t)}</th>
                  <th scope="col" class="num">Error</th>`,
            )}
          </tr>
        </thead>
        <tbody>
          ${e.rows.map((r) => {
            const at = new Map(r.points.map((p) => [p.target_percent, p]));
            return html`<tr id="estimate-error-${r.usage_type}">
              <th scope="row">${r.usage_type}</th>
              <td>${r.unit}</td>
              <td class="num">${qty(r.final_billable)}</td>
              ${targets.map(
                (t) =>
                  html`<td class="num">${qty(at.get(t)?.projected_billable)}</td>
                    ${signedPct(at.get(t)?.error_percent)}`,
              )}
            </tr>`;
          })}
        </tbody>
      </table>`,
    )}`;
}
