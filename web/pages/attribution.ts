import { consoleMonths } from '../../db/console-reads';
import { USAGE_EDIT, USAGE_READ } from '../../domain/access';
import { isDay } from '../../domain/attribution';
import { monthName } from '../format';
import { html } from '../html';
import { notice } from '../layout';
import type { Action, Page, PageCtx, Rendered } from '../page';
import { badParam, monthQ, oneOf } from '../params';
import { monthOptions } from '../widgets';
import { dailyFilePage, dailyFilesSection } from './attribution-files';
import {
  previewChange,
  readChange,
  saveChange,
  tagKeysSection,
  type TagKeyPreview,
} from './attribution-keys';
import { tagSummarySection } from './attribution-summary';

/**
 * Attribution: the tag keys (history, and the form that changes them with a preview of what it restates), the
 * summary by tag of a closed month, and the daily files of the month's attributed days. One month picker: the
 * summary needs a closed month, the files exist for every attributed day, the month to date included.
 */
async function renderAttribution(ctx: PageCtx, preview?: TagKeyPreview): Promise<Rendered> {
  const months = await consoleMonths(ctx.db, ctx.scope.accountId, new Date(ctx.now).toISOString());
  const closed = months.filter((m) => m.version !== undefined);
  const month = monthQ(ctx.query) ?? closed[0]?.month ?? (months[0]?.month as string);
  const isClosed = closed.some((m) => m.month === month);
  const [keys, summary, files] = await Promise.all([
    tagKeysSection(ctx, preview),
    isClosed
      ? tagSummarySection(ctx, month)
      : Promise.resolve(
          html`<h2 id="by-tag">Monthly summary by tag</h2>
            <p>
              ${monthName(month)} is not closed: the summary by tag is made when a month is closed. Its
              attributed days' files are below.
            </p>`,
        ),
    dailyFilesSection(ctx, month),
  ]);
  return {
    title: 'Attribution',
    body: html`${notice(savedNotice(ctx.query))}
      <p>
        <a href="#tag-keys">Tag keys</a> · <a href="#by-tag">Summary by tag</a> ·
        <a href="#daily-files">Daily files</a>
      </p>
      ${keys}
      <form method="get" action="/attribution" class="filters">
        <div>
          <label for="month">Month</label
          ><select id="month" name="month">
            ${monthOptions(months, month)}
          </select>
        </div>
        <button type="submit" class="secondary">Show</button>
      </form>
      ${summary} ${files}`,
  };
}

function savedNotice(q: Record<string, string | undefined>): string | undefined {
  const v = q.saved;
  if (v === undefined || v === '') return undefined;
  if (v === 'unchanged') return 'Nothing changed: those tag keys were already in effect from that day.';
  if (!isDay(v)) throw badParam('saved', `"${v}" is neither a day nor "unchanged"`);
  return `The tag keys are saved: they apply from ${v === '1970-01-01' ? 'the beginning' : v}. Days already attributed keep their split until they are attributed again.`;
}

export const attributionPages: Page[] = [
  { path: '/attribution', nav: 'Attribution', need: USAGE_READ, render: (ctx) => renderAttribution(ctx) },
  dailyFilePage,
];

export const attributionActions: Action[] = [
  {
    path: '/attribution/tag-keys',
    // Tag keys are the account's: a change restates every org, so only the root org may make it.
    need: USAGE_EDIT,
    back: '/attribution',
    async handle(ctx) {
      const intent = oneOf(ctx.form, 'intent', ['preview', 'save'] as const, 'preview');
      const change = await readChange(ctx.db, ctx.scope.accountId, ctx.now, ctx.form);
      if (intent === 'preview') return renderAttribution(ctx, await previewChange(ctx, change));
      const changes = await saveChange(ctx, change);
      return { redirect: `/attribution?saved=${changes.length ? change.from : 'unchanged'}#tag-keys` };
    },
  },
];
