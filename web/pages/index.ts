import type { Action, Page } from '../page';
import { accessActions, accessPages } from './access';
import { alertsActions, alertsPages } from './alerts';
import { attributionActions, attributionPages } from './attribution';
import { costActions, costPages } from './cost';
import { estimatesActions, estimatesPages } from './estimates';
import { reportsActions, reportsPages } from './reports';
import { sharesActions, sharesPages } from './shares';
import { usagePage } from './usage';

/**
 * The console's page table, in navigation order. The server registers these (api/console.ts), the navigation
 * lists the ones a user may open, and the access tests walk them.
 */
export const PAGES: readonly Page[] = [
  usagePage,
  ...costPages,
  ...estimatesPages,
  ...attributionPages,
  ...alertsPages,
  ...reportsPages,
  ...sharesPages,
  ...accessPages,
];

/** The forms' targets (POST), each with the page it shows a refusal on. */
export const ACTIONS: readonly Action[] = [
  ...costActions,
  ...estimatesActions,
  ...attributionActions,
  ...alertsActions,
  ...reportsActions,
  ...sharesActions,
  ...accessActions,
];
