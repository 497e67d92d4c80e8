import { PARENT_USAGE_READ } from '../../domain/access';
import { html } from '../html';
import type { Action, Page } from '../page';

/** Reports: not built yet. */
export const reportsPages: Page[] = [
  {
    path: '/reports',
    nav: 'Reports',
    need: PARENT_USAGE_READ,
    async render() {
      return { title: 'Reports', body: html`<p>This page is being built.</p>` };
    },
  },
];

export const reportsActions: Action[] = [];
