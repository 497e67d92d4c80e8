import { consoleMonths } from '../../db/console-reads';
import { monthEndMails, monthEndRenders, monthVersionNumbers } from '../../db/console-reports';
import { findVersion, openMonthEndFile, type VersionRow } from '../../db/month-end-report';
import { COST_READ, denial, PARENT_USAGE_READ } from '../../domain/access';
import { closedVersion } from '../../queries/month-end';
import { notFound } from '../../queries/scope';
import { monthName, when } from '../format';
import { href, html, type Html } from '../html';
import type { Action, Page, PageDownload } from '../page';
import { badParam, monthQ } from '../params';
import { statusBadge, wrap } from '../widgets';
import { COST_FIELDS, downloadable, shownStatus, versionSection } from './reports-version';

/**
 * Reports: a closed month's month-end versions (provisional, final, restated when a later one exists), their
 * watermark, what changed between them, the finance mail as it went out and every file to download. The account's
 * reports: the root org only.
 */
export const reportsPages: Page[] = [
  {
    path: '/reports',
    nav: 'Reports',
    need: PARENT_USAGE_READ,
    async render(ctx) {
      const { db, scope } = ctx;
      const closed = (await consoleMonths(db, scope.accountId, new Date(ctx.now).toISOString())).filter(
        (m) => m.version !== undefined,
      );
      const month = monthQ(ctx.query) ?? closed[0]?.month;
      const picker = html`<form method="get" action="/reports" class="filters">
        <div>
          <label for="month">Closed month</label
          ><select id="month" name="month">
            ${closed.map(
              (m) =>
                html`<option value="${m.month}" ${m.month === month ? html`selected` : ''}>
                  ${monthName(m.month)} (v${m.version}, ${m.status})
                </option>`,
            )}
          </select>
        </div>
        <button type="submit" class="secondary">Show</button>
      </form>`;
      if (!month)
        return {
          title: 'Reports',
          body: html`<p>No month is closed yet: a report is made when a month closes.</p>`,
        };
      const numbers = await monthVersionNumbers(db, scope.accountId, month);
      if (!numbers.length)
        return {
          title: 'Reports',
          body: html`${closed.length ? picker : ''}
            <p>${monthName(month)} has not been closed: there is no report of it yet.</p>`,
        };
      const withCost = !denial(scope, COST_READ);
      const [versions, mails, renders] = await Promise.all([
        Promise.all(numbers.map((n) => findVersion(db, scope.accountId, month, n) as Promise<VersionRow>)),
        withCost ? monthEndMails(db, scope.accountId, month) : Promise.resolve([]),
        withCost ? monthEndRenders(db, scope.accountId, month) : Promise.resolve([]),
      ]);
      const latest = numbers[numbers.length - 1] as number;
      return {
        title: `Reports: ${monthName(month)}`,
        body: html`${picker} ${versionsTable(versions, latest, withCost)}
        ${[...versions].reverse().map((v) =>
          versionSection({
            v,
            latest,
            withCost,
            mails,
            render: renders.find((r) => r.version === v.version),
          }),
        )}`,
      };
    },
  },
  {
    path: '/reports/:month/v/:version/files/:name',
    need: PARENT_USAGE_READ,
    async render(ctx): Promise<PageDownload> {
      const { db, scope, params } = ctx;
      const month = monthQ(params) as string;
      if (!/^[1-9]\d{0,6}$/.test(params.version ?? ''))
        throw badParam('version', `"${params.version}" is not a version number (1, 2, …)`);
      const v = await closedVersion(db, scope, {
        month,
        version: Number(params.version),
        asOf: new Date(ctx.now).toISOString(),
      });
      const name = params.name ?? '';
      const allowed = downloadable(v, !denial(scope, COST_READ));
      const stream = allowed.includes(name) ? await openMonthEndFile(db, v, name) : undefined;
      if (!stream)
        throw notFound(`${month} version ${v.version} has no file "${name}" (files: ${allowed.join(', ')})`);
      return {
        download: {
          filename: name,
          contentType: name.endsWith('.tsv')
            ? 'text/tab-separated-values; charset=utf-8'
            : 'text/csv; charset=utf-8',
          stream,
        },
      };
    },
  },
];

function versionsTable(versions: readonly VersionRow[], latest: number, withCost: boolean): Html {
  return wrap(
    html`<table id="versions">
      <caption>
        Versions of the month
      </caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Status</th>
          <th scope="col">Closed</th>
          <th scope="col">As of</th>
          <th scope="col">Data complete through</th>
          <th scope="col">Facts watermark</th>
          <th scope="col">Tag keys</th>
          <th scope="col" class="num">Changes</th>
        </tr>
      </thead>
      <tbody>
        ${versions.map(
          (v) =>
            html`<tr>
              <th scope="row">
                <a href="${href('/reports', { month: v.month })}#v${v.version}">v${v.version}</a>
              </th>
              <td>${statusBadge(shownStatus(v, latest))}</td>
              <td>${when(v.computed_at)}</td>
              <td>${when(v.as_of)}</td>
              <td>${when(v.data_complete_through)}</td>
              <td>${v.facts_watermark ?? '—'}</td>
              <td>${v.tag_keys.join(', ') || html`<span class="muted">none</span>`}</td>
              <td class="num">
                ${v.version > 1 ? v.changes.filter((c) => withCost || !COST_FIELDS.has(c.field)).length : '—'}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

export const reportsActions: Action[] = [];
