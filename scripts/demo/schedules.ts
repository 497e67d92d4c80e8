import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';

import { table } from '../lib/output';
import { applySchedules, applyLineText } from '../../schedules/apply';
import { accountCalendars as readAccounts } from '../../db/accounts';
import { scheduleRow } from '../../schedules/operate';
import { log, step } from './log';

/** Without milliseconds, and without seconds when zero (as `schedules list`): `2026-12-04T01:00Z`. */
export const short = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z').replace(/:00Z$/, 'Z');

/**
 * `orgtally schedules apply --paused`, then `schedules list`: the global ingest schedule and the account's four,
 * created paused so that none fires at a wall-clock time in the middle of the demo (a schedule that exists keeps
 * its state). Returns the schedule ids.
 */
export async function schedulesPhase(db: Knex, client: Client, taskQueue: string): Promise<string[]> {
  step('Schedules (`orgtally schedules apply --paused`, then `schedules list`)');
  const target = { client, taskQueue };
  const lines = await applySchedules(target, await readAccounts(db), { paused: true });
  for (const l of lines) log(applyLineText(l));
  const ids = lines.filter((l) => l.outcome !== 'deleted').map((l) => l.scheduleId);
  // Described one by one: listing is eventually consistent and may miss a schedule created a moment ago.
  const rows = await Promise.all(
    ids.map(async (id) => scheduleRow(await client.schedule.getHandle(id).describe())),
  );
  const active = rows.filter((r) => !r.paused).map((r) => r.id);
  log(
    active.length
      ? `schedules applied; not paused, as they were before the demo: ${active.join(', ')} ` +
          `(\`npm run orgtally -- schedules pause <id>\`)`
      : `schedules applied (paused for the demo, so that none fires at a wall-clock time mid-demo; ` +
          `\`npm run orgtally -- schedules resume <id>\` lets one run on its calendar):`,
  );
  log(
    table(
      rows.map((r) => ({
        id: r.id,
        calendar: r.calendar,
        tz: r.timezone,
        overlap: r.overlap,
        paused: r.paused,
        next_run: r.next[0] ? short(r.next[0]) : '',
      })),
    ),
  );
  return ids;
}
