import type { Command } from 'commander';
import { applyLineText, applySchedules, type ScheduleTarget } from '../../schedules/apply';
import { listSchedules, ourSchedule, triggerSchedule } from '../../schedules/operate';
import { accountCalendars as readAccounts } from '../../db/accounts';
import { log, withClient, withDb } from '../context';
import { printRows } from '../lib/output';

/** Without milliseconds, and without seconds when zero: `2026-12-04T01:00Z`, `2026-11-29T05:00:12Z`. */
const short = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z').replace(/:00Z$/, 'Z');

export function registerSchedules(program: Command): void {
  const schedules = program
    .command('schedules')
    .description('the Temporal Schedules that run ingest, attribution, estimates, month-end and trends');
  const target = (fn: (t: ScheduleTarget) => Promise<void>) =>
    withClient((client, config) => fn({ client, taskQueue: config.taskQueue }));

  schedules
    .command('apply')
    .description(
      "create or update every account's schedules (idempotent), delete those of accounts that are gone",
    )
    .option('--account <id>', "only this account's schedules (the global ingest schedule is left as is)")
    .option('--paused', 'create missing schedules paused (existing ones keep their state)')
    .action(async (o: { account?: string; paused?: boolean }) => {
      const accounts = await withDb((db) => readAccounts(db));
      await target(async (t) => {
        const lines = await applySchedules(t, accounts, { account: o.account, paused: o.paused === true });
        for (const l of lines) console.log(applyLineText(l));
      });
    });

  schedules
    .command('list')
    .description(
      'every orgtally/ schedule: kind, account, calendar, time zone, overlap, paused, next runs, last run',
    )
    .option('--json', 'JSON lines')
    .action(async (o: { json?: boolean }) => {
      await target(async (t) => {
        const rows = await listSchedules(t);
        printRows(rows, o.json, (r) => ({
          id: r.id,
          kind: r.kind,
          account: r.account,
          calendar: r.calendar,
          tz: r.timezone,
          overlap: r.overlap,
          paused: r.paused,
          note: r.note ?? '',
          next: r.next.map(short).join(' '),
          last_run: r.lastRun ? `${short(r.lastRun.scheduledAt)} ${r.lastRun.workflowId}` : '',
        }));
      });
    });

  schedules
    .command('pause <id>')
    .description('pause a schedule (apply keeps it paused)')
    .option('--note <text>', 'why (shown by list)')
    .action(async (id: string, o: { note?: string }) => {
      await target(async (t) => {
        await ourSchedule(t, id).pause(o.note ?? 'paused by orgtally schedules pause');
        log(`paused ${id}`);
      });
    });

  schedules
    .command('resume <id>')
    .description('resume a paused schedule')
    .action(async (id: string) => {
      await target(async (t) => {
        await ourSchedule(t, id).unpause('resumed by orgtally schedules resume');
        log(`resumed ${id}`);
      });
    });

  schedules
    .command('trigger <id>')
    .description(
      "run a schedule's action now, under its overlap policy (skipped or buffered if one is running)",
    )
    .action(async (id: string) => {
      await target(async (t) => {
        const overlap = await triggerSchedule(t, id);
        log(`triggered ${id} (overlap ${overlap})`);
      });
    });

  schedules
    .command('delete <id>')
    .description('delete a schedule (the next apply creates it again if its account still exists)')
    .action(async (id: string) => {
      await target(async (t) => {
        await ourSchedule(t, id).delete();
        log(`deleted ${id}`);
      });
    });
}
