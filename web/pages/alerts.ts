import { ALERTS_READ } from '../../domain/access';
import { html } from '../html';
import type { Action, Page } from '../page';

/** Alerts: not built yet. */
export const alertsPages: Page[] = [
  {
    path: '/alerts',
    nav: 'Alerts',
    need: ALERTS_READ,
    async render() {
      return { title: 'Alerts', body: html`<p>This page is being built.</p>` };
    },
  },
];

export const alertsActions: Action[] = [];
