import { monthName } from '../format';
import { html, type Html } from '../html';
import { csrfField } from '../layout';
import type { PageCtx } from '../page';
import { statusBadge, wrap } from '../widgets';
import type { TagKeyPreview } from './attribution-keys';

/**
 * The preview of a tag-key change: what the dry run would change, what it would restate month by month (and
 * what to run for it), and the Save button carrying the same values.
 */

export const keyList = (keys: readonly string[]): Html =>
  keys.length
    ? html`${keys.map((k, i) => html`${i ? ', ' : ''}<span class="tag">${k}</span>`)}`
    : html`<span class="muted">none</span>`;

export const shownDay = (d: string) => (d === '1970-01-01' ? 'the beginning' : d);

export function previewPanel(ctx: PageCtx, p: TagKeyPreview): Html {
  if (!p.changes.length)
    return html`<div class="notice" role="status" id="preview">
      <p>
        This changes nothing: ${keyList(p.change.keys)} ${p.change.keys.length === 1 ? 'is' : 'are'} already
        in effect from ${shownDay(p.change.from)}.
      </p>
    </div>`;
  return html`<section class="preview" id="preview" aria-labelledby="preview-title">
    <h3 id="preview-title">Preview: nothing is saved yet</h3>
    <p>Saving would make this change (and write it to the audit log):</p>
    <ul>
      ${p.changes.map((c) => html`<li>${c}</li>`)}
    </ul>
    ${restatement(p)}
    <form method="post" action="/attribution/tag-keys">
      ${csrfField(ctx.csrf)}
      <input type="hidden" name="tag_keys" value="${p.change.keysText}" />
      <input type="hidden" name="effective_from" value="${p.change.effectiveText}" />
      <button type="submit" name="intent" value="save">Save</button>
      <a href="/attribution#tag-keys">Cancel</a>
    </form>
  </section>`;
}

/** What the change would restate, month by month, and what to run for it. */
function restatement(p: TagKeyPreview): Html {
  const restated = p.months.filter((m) => m.days > 0);
  const split = p.months.filter((m) => m.other_days > 0);
  if (!p.months.length)
    return html`<p>
      No day attributed so far is split differently: the new keys apply to the days attributed from
      ${shownDay(p.change.from)} on.
    </p>`;
  return html`${
    restated.length
      ? html`<p>
          Days already attributed with other keys that the new list covers are split again when they are
          attributed again (<code>orgtally run attribution --account ${p.change.spec.account.id} --day …</code
          >). A closed month holding such days gets a new version when it is closed again: marked restated,
          with the finance mail sent again${p.recipients.length ? ` to ${p.recipients.join(', ')}` : ''}.
        </p>`
      : ''
  }
  ${wrap(
    html`<table id="restatement">
      <caption>
        What the change would restate
      </caption>
      <thead>
        <tr>
          <th scope="col">Month</th>
          <th scope="col" class="num">Days split again</th>
          <th scope="col">From – to</th>
          <th scope="col">Month-end now</th>
          <th scope="col">When closed again</th>
        </tr>
      </thead>
      <tbody>
        ${p.months.map(
          (m) =>
            html`<tr>
              <th scope="row">${monthName(m.month)}</th>
              <td class="num">${m.days}</td>
              <td>${m.first_day ? `${m.first_day} – ${m.last_day}` : '—'}</td>
              <td>
                ${m.version === null ? statusBadge('not_closed') : html`v${m.version} ${statusBadge(m.status ?? '')}`}
              </td>
              <td>
                ${
                  m.other_days > 0
                    ? 'refused until every day has the same keys'
                    : m.version === null
                      ? 'attribute these days again before the close (it does not)'
                      : `restated as v${m.version + 1} once these days are attributed again`
                }
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`,
  )}
  ${
    split.length
      ? html`<div class="error-summary" role="note">
          <h2>A month would hold two key lists</h2>
          <p>
            ${split.map((m) => monthName(m.month)).join(', ')}: ${split.reduce((a, m) => a + m.other_days, 0)}
            attributed day(s) outside the change keep other keys, and the month-end close refuses a month
            attributed with two lists. Either choose the first day of the month, or restate all its days with
            the newest keys (<code
              >orgtally run attribution --account ${p.change.spec.account.id} --day … --restate-tags</code
            >) before the close.
          </p>
        </div>`
      : ''
  }`;
}
