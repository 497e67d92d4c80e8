import {
  ApplicationFailure,
  ChildWorkflowFailure,
  executeChild,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, CloseResult, TrendsResult, WrittenFile } from '../activities';
import { attributeDays, startOrWait } from './children';
import type { DeliveryInput } from './delivery';
import { workflowIds } from '../domain/workflow-ids';
import { LOCAL_SQL_WORK, SQL_WORK } from './activity-options';

/**
 * The close's own steps run as local activities (in the worker running this workflow): each was a round trip
 * through the server (~40–60 ms on the dev server) for work that takes as long. Runs recorded before replay with
 * the steps as activities.
 */
const LOCAL_STEPS_PATCH = 'month-end-local-steps';
const remote = proxyActivities<Activities>(SQL_WORK);
const local = proxyLocalActivities<Activities>(LOCAL_SQL_WORK);

/** Runs recorded before client statements existed replay without them (Temporal's patch marker). */
const STATEMENTS_PATCH = 'month-end-statements';

export interface MonthEndCloseInput {
  accountId: string;
  /** YYYY-MM in the account's time zone. */
  month: string;
  /** The instant the close computes for; default: this run's start time (set by the schedule or script). */
  asOf?: string;
  /** Days attributed at once when some are missing or pending (default 4). */
  concurrency?: number;
  /** Retry settings handed to each delivery (tests shorten them). */
  delivery?: Pick<DeliveryInput, 'retryWindowMs' | 'initialRetryMs'>;
}

export interface MonthEndCloseResult {
  close: Exclude<CloseResult, { outcome: 'incomplete' }>;
  trends: TrendsResult;
  attributedDays: string[];
  files: Pick<WrittenFile, 'name' | 'bytes' | 'sha256'>[];
  deliveries: SentMail[];
  /** Each client org's own statement of the version, one per billing contact (sent after the finance mails). */
  statements: (SentMail & { org: string })[];
}

export interface SentMail {
  id: string;
  recipient: string;
  status: string;
  detail?: string;
}

const MAX_ROUNDS = 5;

/**
 * Id `month-end/<account>/<month>`: attribute every day of the month that is missing or pending (child
 * dailyAttribution workflows, bounded concurrency), close the month (a new version only when the figures
 * changed), write the report files, mail every finance recipient once per version (child `delivery/<id>`), then
 * each client org with a billing contact its own statement of the version, the same way.
 */
export async function monthEndClose(input: MonthEndCloseInput): Promise<MonthEndCloseResult> {
  const { monthDays, closeMonth, renderMonthEnd, planMonthEndDeliveries, planStatementDeliveries } = patched(
    LOCAL_STEPS_PATCH,
  )
    ? local
    : remote;
  const asOf = input.asOf ?? workflowInfo().runStartTime.toISOString();
  const attributed: string[] = [];
  let close: CloseResult | undefined;
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const { toAttribute } = await monthDays({ accountId: input.accountId, month: input.month });
    await attributeDays(input.accountId, toAttribute, input.concurrency ?? 4);
    attributed.push(...toAttribute);
    close = await closeMonth({ accountId: input.accountId, month: input.month, asOf });
    if (close.outcome !== 'incomplete') break;
  }
  if (!close || close.outcome === 'incomplete') {
    throw ApplicationFailure.nonRetryable(
      `${input.accountId} ${input.month}: days still pending after ${MAX_ROUNDS} rounds of attribution ` +
        `(${close?.outcome === 'incomplete' ? close.days.join(', ') : '?'}); late data keeps arriving`,
    );
  }
  const ref = { accountId: input.accountId, month: input.month, version: close.version };
  // The mail shows the six months ending here: trends first (a no-op when no version changed).
  const trends = await startOrWait<TrendsResult>(
    'sixMonthTrends',
    workflowIds.sixMonthTrends(input.accountId, input.month),
    {
      accountId: input.accountId,
      month: input.month,
    },
  );
  const { files } = await renderMonthEnd(ref);
  const planned = await planMonthEndDeliveries(ref);
  const deliveries = await Promise.all(planned.map((d) => deliver(d, input.delivery)));
  const statements = patched(STATEMENTS_PATCH)
    ? await Promise.all(
        (await planStatementDeliveries(ref)).map(async (d) => ({
          ...(await deliver(d, input.delivery)),
          org: d.org,
        })),
      )
    : [];
  return {
    close,
    trends,
    attributedDays: attributed,
    files: files.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 })),
    deliveries,
    statements,
  };
}

/** One ledger row through its child `delivery/<id>` workflow (a row already sent is not started again). */
async function deliver(
  d: { id: string; recipient: string; status: string },
  retry: MonthEndCloseInput['delivery'],
): Promise<SentMail> {
  if (d.status === 'sent') return { id: d.id, recipient: d.recipient, status: 'sent' };
  try {
    const r = await executeChild('delivery', {
      workflowId: workflowIds.delivery(d.id),
      args: [{ deliveryId: d.id, ...retry }],
    });
    return { id: d.id, recipient: d.recipient, status: r.status };
  } catch (err) {
    // A mail that cannot be delivered must not undo the close: the ledger says why; the result lists it.
    const cause = err instanceof ChildWorkflowFailure ? (err.cause?.cause ?? err.cause) : err;
    return { id: d.id, recipient: d.recipient, status: 'failed', detail: (cause as Error).message };
  }
}
