import type { Knex } from 'knex';
import { createDb } from '../infra/db';
import { sleep } from '../infra/process';
import { prng } from '../scripts/lib/sample-data';
import type { FaultProfile } from './profiles';
import type { Phases, RunContext } from './scenario';

/** How many of each fault a run actually took (a fault whose moment never came is not counted). */
export interface Injected {
  workerKills: number;
  temporalRestarts: number;
  closeCuts: number;
  smtpRefused: number;
  smtpDeferred: number;
  /** Every session of the database cut while the mail server held a reply back (a send in flight). */
  mailInFlightCuts: number;
}

/** Terminates every session of the run's database, as a failover or an idle-in-transaction timeout would. */
async function cutSessions(admin: Knex, dbName: string): Promise<number> {
  const { rows } = await admin.raw(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = ? AND pid <> pg_backend_pid()`,
    [dbName],
  );
  return rows[0].n;
}

/** The faults of a profile, at points drawn from `seed`: the same seed gives the same schedule. */
export function faultPhases(
  profile: FaultProfile,
  seed: number,
  days: number,
  log: (line: string) => void,
): { phases: Phases; injected: Injected } {
  const rand = prng(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo));
  const injected: Injected = {
    workerKills: 0,
    temporalRestarts: 0,
    closeCuts: 0,
    smtpRefused: 0,
    smtpDeferred: 0,
    mailInFlightCuts: 0,
  };
  const ingestKills = Math.max(1, Math.round(profile.workerKills / 4));
  const note = (ctx: RunContext, what: string) => log(`${ctx.name}: fault: ${what}`);

  const killLoop = async (ctx: RunContext, until: () => boolean, upTo: number, lo: number, hi: number) => {
    while (injected.workerKills < upTo && !until()) {
      await sleep(between(lo, hi));
      if (until()) return;
      await ctx.worker.kill();
      injected.workerKills++;
      note(ctx, `worker SIGKILL ${injected.workerKills}/${profile.workerKills}`);
      await ctx.worker.start();
    }
  };
  const flag = (done: Promise<void>) => {
    let over = false;
    void done.then(() => (over = true));
    return () => over;
  };

  return {
    injected,
    phases: {
      ingest: async (ctx, done) => killLoop(ctx, flag(done), ingestKills, 500, 2_500),
      backfill: async (ctx, done) => {
        const over = flag(done);
        const admin = createDb(ctx.stack.databaseUrl('postgres'), { max: 2 });
        const waitFor = async (ok: () => Promise<boolean>, everyMs = 20) => {
          while (!over()) {
            if (await ok().catch(() => false)) return true;
            await sleep(everyMs);
          }
          return false;
        };
        const restarts = async () => {
          for (let i = 1; i <= profile.temporalRestarts; i++) {
            const share = i / (profile.temporalRestarts + 1);
            if (!(await waitFor(async () => (await ctx.attributedDays()) >= Math.ceil(days * share), 100)))
              return;
            await ctx.stack.restartTemporal();
            injected.temporalRestarts++;
            note(
              ctx,
              `Temporal dev server killed and restarted on its db file (${i}/${profile.temporalRestarts})`,
            );
          }
        };
        const closeCuts = async () => {
          for (let i = 1; i <= profile.closeCuts; i++) {
            const closing = await waitFor(async () => {
              const { rows } = await admin.raw(
                `SELECT count(*)::int AS n FROM pg_stat_activity
                  WHERE datname = ? AND state = 'active' AND query ~* 'month_end_(totals|orgs|tags|versions)'`,
                [ctx.dbName],
              );
              return rows[0].n > 0;
            }, 5);
            if (!closing) return;
            const n = await cutSessions(admin, ctx.dbName);
            injected.closeCuts++;
            note(ctx, `${n} Postgres sessions terminated mid-close (${i}/${profile.closeCuts})`);
            await sleep(500);
          }
        };
        const smtp = async () => {
          await ctx.sink.refuse();
          const due = await waitFor(
            async () => Number((await ctx.db('deliveries').count({ n: '*' }))[0]?.n) > 0,
            100,
          );
          if (!due) return ctx.sink.accept();
          injected.smtpRefused++;
          note(ctx, `mail server refusing connections for ${profile.smtpRefuseMs / 1000} s`);
          await sleep(profile.smtpRefuseMs);
          ctx.sink.rejectWith(451, 'try again later');
          await ctx.sink.accept();
          injected.smtpDeferred++;
          note(ctx, `mail server answering 451 for ${profile.smtpDeferMs / 1000} s`);
          await sleep(profile.smtpDeferMs);
          ctx.sink.hold();
          ctx.sink.rejectWith(undefined);
          const inFlight = await waitFor(async () => ctx.sink.held > 0, 20);
          if (inFlight) {
            const n = await cutSessions(admin, ctx.dbName);
            injected.mailInFlightCuts++;
            note(ctx, `${n} Postgres sessions terminated while a mail was in flight`);
            await sleep(200);
          }
          ctx.sink.release();
        };
        try {
          await Promise.all([
            killLoop(ctx, over, profile.workerKills, 1_500, 5_000),
            restarts(),
            closeCuts(),
            smtp(),
          ]);
        } finally {
          ctx.sink.release();
          ctx.sink.rejectWith(undefined);
          await ctx.sink.accept();
          await admin.destroy();
        }
      },
    },
  };
}
