import { USAGE_READ } from '../../domain/access';
import { html } from '../html';
import type { Action, Page } from '../page';

/** Estimates: not built yet. */
export const estimatesPages: Page[] = [
  {
    path: '/estimates',
    nav: 'Estimates',
    need: USAGE_READ,
    async render() {
      return { title: 'Estimates', body: html`<p>This page is being built.</p>` };
    },
  },
];

export const estimatesActions: Action[] = [];
