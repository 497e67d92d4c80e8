import type { Knex } from 'knex';
import { accountClock as clock, type AccountClock } from '../db/accounts';
import { asActivity } from './failures';

export function scheduleActivities(deps: { db: Knex }) {
  return {
    /** The account's previous day and month and its pending days, at a scheduled run's time. */
    accountClock: (input: { accountId: string; at: string }): Promise<AccountClock> =>
      asActivity(() => clock(deps.db, input.accountId, input.at)),
  };
}
