import { USAGE_READ } from '../../domain/access';
import { html } from '../html';
import type { Action, Page } from '../page';

/** Attribution: not built yet. */
export const attributionPages: Page[] = [
  {
    path: '/attribution',
    nav: 'Attribution',
    need: USAGE_READ,
    async render() {
      return { title: 'Attribution', body: html`<p>This page is being built.</p>` };
    },
  },
];

export const attributionActions: Action[] = [];
