import { dec, sum, text } from '../../domain/exact';
import { orgSummaries, type OrgRow } from '../../domain/month-end-report';
import { changeCell, money, monthName, pct, totalNote, type Pricing } from '../format';
import { html, type Html } from '../html';
import { wrap } from '../widgets';

export interface PreviousCost {
  org_name: string;
  billable: boolean;
  total_cost: string;
}

/**
 * Chargeback: what each org is charged for the month, its share of the account's cost, and the previous
 * month's charge with the change. `previous` is undefined when the previous month has no figures (before the
 * account's first usage): the change is then "—", not "new".
 */
export function chargebackTable(
  month: string,
  rows: readonly OrgRow[],
  previous: { month: string; costs: ReadonlyMap<string, PreviousCost> } | undefined,
  pricing: Pricing,
): Html {
  const current = orgSummaries(rows);
  const seen = new Set(current.map((o) => o.public_id));
  // An org charged last month and not this one still belongs on the sheet: its charge fell to nothing.
  const gone = [...(previous?.costs ?? new Map<string, PreviousCost>())]
    .filter(([id]) => !seen.has(id))
    .map(([public_id, p]) => ({
      public_id,
      org_name: p.org_name,
      billable: p.billable,
      total_cost: '0',
      share_of_cost: '0',
    }));
  const orgs = [...current, ...gone];
  const account = text(sum(rows.map((r) => dec(r.total_cost))));
  const prevAccount = previous && text(sum([...previous.costs.values()].map((v) => dec(v.total_cost))));
  const prevOf = (id: string) => (previous ? (previous.costs.get(id)?.total_cost ?? '0') : undefined);
  return wrap(
    html`<table id="chargeback">
      <caption>
        Chargeback for ${monthName(month)}${previous ? `, against ${monthName(previous.month)}` : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Organization</th>
          <th scope="col" class="num">Cost</th>
          <th scope="col" class="num">Share of account cost</th>
          <th scope="col" class="num">Previous month</th>
          <th scope="col" class="num">Change</th>
        </tr>
      </thead>
      <tbody>
        ${orgs.map(
          (o) =>
            html`<tr id="chargeback-${o.public_id}">
              <th scope="row">
                ${o.org_name} <span class="muted">${o.public_id}</span>${
                  o.billable ? '' : html` <span class="tag">trial</span>`
                }
              </th>
              <td class="num">${money(o.total_cost, pricing.currency)}</td>
              <td class="num">${pct(o.share_of_cost)}</td>
              <td class="num">${money(prevOf(o.public_id), pricing.currency)}</td>
              ${changeCell(prevOf(o.public_id), o.total_cost)}
            </tr>`,
        )}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">Account${totalNote(pricing)}</th>
          <td class="num">${money(account, pricing.currency)}</td>
          <td class="num">${pct('100')}</td>
          <td class="num">${money(prevAccount, pricing.currency)}</td>
          ${changeCell(prevAccount, account)}
        </tr>
      </tfoot>
    </table>`,
  );
}
