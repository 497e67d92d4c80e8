import { tagKeyHistory } from '../../db/console-attribution';
import { SHARE_MANAGE } from '../../domain/access';
import { sharesInScope } from '../../queries/shares';
import { html } from '../html';
import { notice, refusal } from '../layout';
import type { Action, Page } from '../page';
import { oneOf } from '../params';
import {
  createShareAction,
  pauseShareAction,
  resumeShareAction,
  revokeShareAction,
  rotateShareAction,
} from './shares-actions';
import { sent, shareForm } from './shares-form';
import { sharesTable } from './shares-table';

/**
 * Shared dashboards: links to one org's usage dashboard for people without an orgtally account, open or for
 * invited addresses only. The list and every change go through queries/shares.ts, which shows a child org only
 * its subtree's shares. A link is shown once, when it is made or rotated.
 */
const DONE = {
  none: undefined,
  paused: 'The share is paused: its link opens nothing until you resume it.',
  resumed: 'The share is active again: its link opens the dashboard.',
  revoked: 'The share was revoked: its link stopped working for good.',
} as const;

export const sharesPages: Page[] = [
  {
    path: '/shares',
    nav: 'Shared dashboards',
    need: SHARE_MANAGE,
    async render(ctx) {
      const { db, scope, query, csrf } = ctx;
      const done = oneOf(query, 'done', Object.keys(DONE) as (keyof typeof DONE)[], 'none');
      const [shares, history] = await Promise.all([
        sharesInScope(db, scope),
        tagKeyHistory(db, scope.accountId),
      ]);
      // Locks may name any key the account attributes by, now or before (queries/shares.ts): newest first.
      const tagKeys = [...new Set([...history].reverse().flatMap((h) => h.tag_keys))];
      return {
        title: 'Shared dashboards',
        body: html`${notice(DONE[done])} ${refusal(sent(ctx, 'row').error)}
          <p class="hint">
            A shared dashboard is a link to one organization's usage for someone without an orgtally account:
            open to whoever has the link, or to invited addresses only.
          </p>
          <h2>Shares</h2>
          ${sharesTable(shares, csrf)}
          <h2>Share an org's dashboard</h2>
          ${shareForm(ctx, tagKeys)}`,
      };
    },
  },
];

export const sharesActions: Action[] = [
  createShareAction,
  pauseShareAction,
  resumeShareAction,
  rotateShareAction,
  revokeShareAction,
];
