import { attributedDay, attributedDays, openDailyFile, productIds } from '../../db/console-attribution';
import { USAGE_READ } from '../../domain/access';
import { dailyFileName } from '../../domain/attribution';
import { monthName, when } from '../format';
import { html, type Html } from '../html';
import type { Page, PageCtx, PageDownload } from '../page';
import { dayQ } from '../params';
import { notFound, orgFilter } from '../../queries/scope';
import { wrap } from '../widgets';

/**
 * The daily attribution files (Datadog's hourly layout, one per product and day). Each file holds every org of
 * the account, so a user of a child org never gets one: it gets the same file cut to its own orgs' rows (same
 * header, columns and order), named after its org. Both are streamed straight from the attributed rows with the
 * export's own COPY, so the root org's download is byte for byte the file the export wrote and reconciled.
 */

const fileUrl = (day: string, name: string) => `/attribution/files/${day}/${name}`;

export async function dailyFilesSection(ctx: PageCtx, month: string): Promise<Html> {
  const { db, scope } = ctx;
  const [days, products] = await Promise.all([
    attributedDays(db, scope.accountId, month),
    productIds(db, scope.accountId),
  ]);
  const codes = [...products.keys()];
  const intro = scope.parentLevel
    ? html`<p>One file per product and day, every org of the account, hourly rows (UTC).</p>`
    : html`<p>
        One file per product and day, hourly rows (UTC). The account's files hold every org; yours hold only
        the rows of ${[...scope.orgs.values()].join(', ')}.
      </p>`;
  if (!days.length)
    return html`<h2 id="daily-files">Daily files</h2>
      ${intro}
      <p>No day of ${monthName(month)} has been attributed yet.</p>`;
  return html`<h2 id="daily-files">Daily files</h2>
    ${intro}
    ${wrap(
      html`<table id="daily-files-table">
        <caption>
          Attributed days of ${monthName(month)} and their files
        </caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            <th scope="col">Tag keys</th>
            <th scope="col">Attributed</th>
            <th scope="col">Files</th>
          </tr>
        </thead>
        <tbody>
          ${days.map(
            (d) =>
              html`<tr>
                <th scope="row">${d.day}</th>
                <td>
                  ${d.tag_keys.join(', ') || html`<span class="muted">none</span>`}
                  ${d.restated_tags ? html` <span class="tag">restated</span>` : ''}
                </td>
                <td>${when(d.attributed_at)}</td>
                <td>
                  <ul class="files">
                    ${codes.map(
                      (c) =>
                        html`<li><a href="${fileUrl(d.day, dailyFileName(c, d.day))}" download>${c}</a></li>`,
                    )}
                  </ul>
                </td>
              </tr>`,
          )}
        </tbody>
      </table>`,
    )}`;
}

export const dailyFilePage: Page = {
  path: '/attribution/files/:day/:name',
  need: USAGE_READ,
  async render(ctx): Promise<PageDownload> {
    const { db, scope, params } = ctx;
    const day = dayQ(params, 'day') as string;
    const name = params.name ?? '';
    const products = await productIds(db, scope.accountId);
    const code = [...products.keys()].find((c) => dailyFileName(c, day) === name);
    const run = await attributedDay(db, scope.accountId, day);
    if (!run || code === undefined)
      throw notFound(
        run
          ? `${day} has no file "${name}" (files: ${[...products.keys()].map((c) => dailyFileName(c, day)).join(', ')})`
          : `${day} has not been attributed: there is no file of that day`,
      );
    const orgs = orgFilter(scope);
    return {
      download: {
        filename: orgs ? name.replace(/\.tsv$/, `_${scope.org}.tsv`) : name,
        contentType: 'text/tab-separated-values; charset=utf-8',
        stream: openDailyFile(db, {
          accountId: scope.accountId,
          day,
          productId: products.get(code) as number,
          tagKeys: run.tag_keys,
          orgs,
        }),
      },
    };
  },
};
