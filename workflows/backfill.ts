import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  continueAsNew,
  defineQuery,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { startOrWait } from './children';
import type { DeliveryInput } from './delivery';
import { workflowIds } from '../domain/workflow-ids';
import { LOCAL_SQL_WORK, QUICK_READ } from './activity-options';

const { accountClock } = proxyActivities<Activities>(QUICK_READ);
/** A backfill's days: local activities of the backfill itself (see `backfill`). */
const { attributeDay } = proxyLocalActivities<Activities>(LOCAL_SQL_WORK);
/** Runs recorded before days were local activities started a dailyAttribution child per day, and still replay. */
const DAYS_PATCH = 'backfill-days-local';

export const BACKFILL_STEPS = ['attribution', 'month-end', 'trends'] as const;
export type BackfillStep = (typeof BACKFILL_STEPS)[number];

export interface BackfillUnit {
  step: BackfillStep;
  /** A day (attribution) or a month (month-end, trends). */
  key: string;
}

export interface BackfillProgress {
  total: number;
  done: number;
  failed: number;
  /** The units in flight right now. */
  running: string[];
  failures: { unit: string; error: string }[];
  /** When the backfill started (its first run), epoch ms. */
  startedAtMs: number;
  /** Runs so far: the backfill continues as new every CHUNK units. */
  runs: number;
  finished: boolean;
}

export interface BackfillInput {
  accountId: string;
  /** First and last day (inclusive), YYYY-MM-DD, in the account's time zone. */
  from: string;
  to: string;
  steps?: BackfillStep[];
  /** Days attributed at once (month-end and trends run oldest month first, one at a time). */
  concurrency?: number;
  /** Units per run before continuing as new (default CHUNK; tests make it small). */
  chunk?: number;
  /**
   * The instant the closes compute for (ISO; default: each close's own start). Given, a backfill's figures and
   * files are the same bytes whenever it runs.
   */
  asOf?: string;
  /** Retry settings handed to each close's deliveries (the fault suite shortens them). */
  delivery?: Pick<DeliveryInput, 'retryWindowMs' | 'initialRetryMs'>;
  /** Carried across continue-as-new. */
  state?: {
    next: number;
    done: number;
    failures: { unit: string; error: string }[];
    startedAtMs: number;
    runs: number;
    /** The last month that had ended when the backfill started (fixed for all its runs). */
    lastEndedMonth: string;
  };
}

export interface BackfillResult {
  total: number;
  done: number;
  failed: number;
  failures: { unit: string; error: string }[];
  runs: number;
}

export const progressQuery = defineQuery<BackfillProgress>('progress');

/** Units per run: ~5 history events each, so a run stays far below Temporal's history limits. */
export const CHUNK = 100;

const DAY_MS = 86_400_000;

/** The days from..to (inclusive), as calendar dates (no time zone: they are the account's days by name). */
export function backfillDays(from: string, to: string): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (Number.isNaN(start) || Number.isNaN(end) || end < start)
    throw ApplicationFailure.nonRetryable(`backfill range ${from}..${to} is not two days in order`);
  const days: string[] = [];
  for (let t = start; t <= end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/**
 * Every unit of a backfill, in the order they must run: the days first (attribution), then each month touched
 * by the range, oldest first (a month's close reads its days; its trends read the months before it). Trends as a
 * step of their own only without month-end, which computes them.
 */
export function backfillPlan(
  input: Pick<BackfillInput, 'from' | 'to' | 'steps'>,
  /** The last month that has ended (account time zone): later months are not closed (their days still are). */
  lastEndedMonth?: string,
): BackfillUnit[] {
  const steps = new Set(input.steps ?? BACKFILL_STEPS);
  const days = backfillDays(input.from, input.to);
  const months = [...new Set(days.map((d) => d.slice(0, 7)))].filter(
    (m) => lastEndedMonth === undefined || m <= lastEndedMonth,
  );
  return [
    ...(steps.has('attribution') ? days.map((key) => ({ step: 'attribution' as const, key })) : []),
    ...(steps.has('month-end') ? months.map((key) => ({ step: 'month-end' as const, key })) : []),
    ...(steps.has('trends') && !steps.has('month-end')
      ? months.map((key) => ({ step: 'trends' as const, key }))
      : []),
  ];
}

const unitName = (u: BackfillUnit) => `${u.step} ${u.key}`;

/**
 * Id `backfill/<account>/<from>/<to>`: recompute a range. Each day is attributed (files written and reconciled)
 * by a local activity of the backfill itself — a child workflow per day cost ~280 ms of round trips through the
 * server next to ~130 ms of work on the sample account. A schedule attributing the same day meanwhile is
 * serialized in the database (attributeDay's lock per account and day), and the later run recomputes from the
 * latest facts. Months run through the same child workflows the schedules run (`month-end/<account>/<month>`,
 * `trends/<account>/<month>`), so a backfill and a schedule never close the same month at once, and an unchanged
 * range changes nothing and mails nothing (the close finds its figures unchanged). Days go `concurrency` at a
 * time; months one at a time, oldest first. Continues as new every CHUNK units; answers the `progress` query
 * throughout. A failed unit is recorded and the rest goes on; the result lists the failures.
 */
export async function backfill(input: BackfillInput): Promise<BackfillResult> {
  // Months that have not ended are not closed: a close of a running month is not a month-end.
  const state = input.state ?? {
    next: 0,
    done: 0,
    failures: [],
    startedAtMs: workflowInfo().runStartTime.getTime(),
    runs: 0,
    lastEndedMonth: (
      await accountClock({
        accountId: input.accountId,
        at: input.asOf ?? workflowInfo().runStartTime.toISOString(),
      })
    ).previousMonth,
  };
  const plan = backfillPlan(input, state.lastEndedMonth);
  const runs = state.runs + 1;
  let done = state.done;
  const failures = [...state.failures];
  const running = new Set<string>();
  let finished = false;
  setHandler(progressQuery, () => ({
    total: plan.length,
    done,
    failed: failures.length,
    running: [...running],
    failures,
    startedAtMs: state.startedAtMs,
    runs,
    finished,
  }));

  const chunkEnd = Math.min(plan.length, state.next + Math.max(1, input.chunk ?? CHUNK));
  const chunk = plan.slice(state.next, chunkEnd);
  const run = async (u: BackfillUnit) => {
    const name = unitName(u);
    running.add(name);
    try {
      if (u.step === 'attribution') {
        if (patched(DAYS_PATCH)) await attributeDay({ accountId: input.accountId, day: u.key });
        else
          await startOrWait('dailyAttribution', workflowIds.dailyAttribution(input.accountId, u.key), {
            accountId: input.accountId,
            day: u.key,
          });
      } else if (u.step === 'month-end') {
        await startOrWait('monthEndClose', workflowIds.monthEndClose(input.accountId, u.key), {
          accountId: input.accountId,
          month: u.key,
          ...(input.asOf !== undefined ? { asOf: input.asOf } : {}),
          ...(input.delivery !== undefined ? { delivery: input.delivery } : {}),
        });
      } else {
        await startOrWait('sixMonthTrends', workflowIds.sixMonthTrends(input.accountId, u.key), {
          accountId: input.accountId,
          month: u.key,
        });
      }
    } catch (err) {
      const cause =
        err instanceof ChildWorkflowFailure || err instanceof ActivityFailure ? (err.cause ?? err) : err;
      failures.push({ unit: name, error: (cause as Error).message });
    } finally {
      running.delete(name);
      done++;
    }
  };

  // Days in parallel lanes; months strictly in order.
  const days = chunk.filter((u) => u.step === 'attribution');
  const months = chunk.filter((u) => u.step !== 'attribution');
  const queue = [...days];
  const lane = async () => {
    for (let u = queue.shift(); u !== undefined; u = queue.shift()) await run(u);
  };
  await Promise.all(Array.from({ length: Math.max(1, input.concurrency ?? 4) }, lane));
  for (const u of months) await run(u);

  if (chunkEnd < plan.length) {
    await continueAsNew<typeof backfill>({
      ...input,
      state: { ...state, next: chunkEnd, done, failures, runs },
    });
  }
  finished = true;
  return { total: plan.length, done, failed: failures.length, failures, runs };
}
