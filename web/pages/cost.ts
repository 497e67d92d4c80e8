import { COST_READ } from '../../domain/access';
import { html } from '../html';
import type { Action, Page } from '../page';

/** Cost: not built yet. */
export const costPages: Page[] = [
  {
    path: '/cost',
    nav: 'Cost',
    need: COST_READ,
    async render() {
      return { title: 'Cost', body: html`<p>This page is being built.</p>` };
    },
  },
];

export const costActions: Action[] = [];
