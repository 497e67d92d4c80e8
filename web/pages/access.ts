import { ACCESS_READ } from '../../domain/access';
import { html } from '../html';
import type { Action, Page } from '../page';

/** Access: not built yet. */
export const accessPages: Page[] = [
  {
    path: '/access',
    nav: 'Access',
    need: ACCESS_READ,
    async render() {
      return { title: 'Access', body: html`<p>This page is being built.</p>` };
    },
  },
];

export const accessActions: Action[] = [];
