import type { MailRender, MonthEndMail } from '../../db/console-reports';
import type { Change } from '../../db/month-end';
import type { VersionRow } from '../../db/month-end-report';
import { dec, sub, text } from '../../domain/exact';
import { signedMoney } from '../../domain/money';
import { monthEndFileNames } from '../../domain/month-end-report';
import { money, qty, when } from '../format';
import { html, type Html } from '../html';
import { statusBadge, wrap } from '../widgets';

/**
 * One month-end version on the Reports page: what changed from the version before, the finance mail as it went
 * out, and the version's files. Money (cost changes, the mail, the by-org and by-tag files) is shown only to a
 * caller with billing_read, as the API's month-end endpoints need it; the per-key summaries are usage only.
 */

export const COST_FIELDS = new Set(['total_cost', 'committed_cost', 'on_demand_cost']);

/** The version's status as the page shows it: a version that a later one replaced is restated. */
export const shownStatus = (v: { version: number; status: string }, latest: number) =>
  v.version < latest ? 'restated' : v.status;

/** The files of a version a caller may download: the summaries always, the cost-bearing files with billing. */
export function downloadable(v: VersionRow, withCost: boolean): string[] {
  const n = monthEndFileNames(v.account_id, v.month, v.version, v.tag_keys);
  return withCost ? [n.byOrg, n.byTag, ...n.summaries] : n.summaries;
}

export const fileHref = (v: { month: string; version: number }, name: string) =>
  `/reports/${v.month}/v/${v.version}/files/${name}`;

export function versionSection(q: {
  v: VersionRow;
  latest: number;
  withCost: boolean;
  mails: MonthEndMail[];
  render: MailRender | undefined;
}): Html {
  const { v, withCost } = q;
  return html`<section id="v${v.version}" aria-labelledby="v${v.version}-title">
    <h2 id="v${v.version}-title">Version ${v.version} ${statusBadge(shownStatus(v, q.latest))}</h2>
    <dl class="facts">
      <div>
        <dt>Closed</dt>
        <dd>${when(v.computed_at)}</dd>
      </div>
      <div>
        <dt>Data complete through</dt>
        <dd>${when(v.data_complete_through)}</dd>
      </div>
      <div>
        <dt>Facts watermark</dt>
        <dd>${v.facts_watermark ?? '—'}</dd>
      </div>
    </dl>
    ${v.version > 1 ? changesTable(v, withCost) : html`<p>The first version of the month.</p>`}
    ${
      withCost
        ? mail(v, q.mails, q.render)
        : html`<p class="hint">
            The finance mail and the files by org and by tag carry costs: they need billing_read.
          </p>`
    }
    <h3>Files</h3>
    <ul class="files" id="v${v.version}-files">
      ${downloadable(v, withCost).map((name) => html`<li><a href="${fileHref(v, name)}" download>${name}</a></li>`)}
    </ul>
  </section>`;
}

function changesTable(v: VersionRow, withCost: boolean): Html {
  const changes = v.changes.filter((c) => withCost || !COST_FIELDS.has(c.field));
  if (!changes.length)
    return html`<p>
      No ${withCost ? '' : 'usage '}figure changed from version
      ${v.version - 1}${withCost ? '' : ' (cost changes need billing_read)'}.
    </p>`;
  const shown = (c: Change, x: string) => (COST_FIELDS.has(c.field) ? money(x, v.currency) : qty(x));
  // The sign goes before the currency code: "+USD 12.00", "−USD 3.10".
  const difference = (c: Change, d: string) =>
    COST_FIELDS.has(c.field) ? signedMoney(d, v.currency).replace(/^-/, '−') : signed(qty(d));
  return wrap(
    html`<table id="v${v.version}-changes">
      <caption>
        What changed from version ${v.version - 1}
      </caption>
      <thead>
        <tr>
          <th scope="col">Product</th>
          <th scope="col">Of</th>
          <th scope="col">Figure</th>
          <th scope="col" class="num">Version ${v.version - 1}</th>
          <th scope="col" class="num">Version ${v.version}</th>
          <th scope="col" class="num">Difference</th>
        </tr>
      </thead>
      <tbody>
        ${changes.map(
          (c) =>
            html`<tr>
              <th scope="row">${c.usage_type}</th>
              <td>${c.public_id ?? 'account'}</td>
              <td>${c.field}</td>
              <td class="num">${shown(c, c.from)}</td>
              <td class="num">${shown(c, c.to)}</td>
              <td class="num">${difference(c, text(sub(dec(c.to), dec(c.from))))}</td>
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

const signed = (s: string) => (s.startsWith('-') ? `−${s.slice(1)}` : `+${s}`);

function mail(v: VersionRow, mails: MonthEndMail[], render: MailRender | undefined): Html {
  const mine = mails.filter((m) => m.version === v.version);
  if (!render && !mine.length)
    return html`<h3>Finance mail</h3>
      <p>No mail was made for this version: it was closed without the month-end workflow's mail step.</p>`;
  return html`<h3>Finance mail</h3>
    ${render ? html`<p>Subject: <strong>${render.subject}</strong></p>` : ''}
    ${
      mine.length
        ? wrap(
            html`<table id="v${v.version}-mail">
              <caption>
                Recipients of version ${v.version}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Recipient</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Attempts</th>
                  <th scope="col">Sent</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody>
                ${mine.map(
                  (m) =>
                    html`<tr>
                      <th scope="row">${m.recipient}</th>
                      <td><span class="status-${m.status}">${m.status}</span></td>
                      <td class="num">
                        ${m.attempts}${m.unknown_outcomes ? html` <span class="muted">(${m.unknown_outcomes} unknown)</span>` : ''}
                      </td>
                      <td>${when(m.sent_at)}</td>
                      <td>${m.last_error ?? html`<span class="muted">none</span>`}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`,
          )
        : html`<p>No recipient is in the ledger for this version (the account had no finance recipients).</p>`
    }
    ${
      render
        ? html`<details open>
            <summary>The mail's text, as sent</summary>
            <pre class="mail">${render.text}</pre>
          </details>`
        : html`<p>The mail's body was not stored.</p>`
    }`;
}
