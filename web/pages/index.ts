import type { Action, Page } from '../page';
import { usagePage } from './usage';

/**
 * The console's page table, in navigation order. The server registers these (api/console.ts), the navigation
 * lists the ones a user may open, and the access tests walk them.
 */
export const PAGES: readonly Page[] = [usagePage];

/** The forms' targets (POST), each with the page it belongs to. */
export const ACTIONS: readonly Action[] = [];
