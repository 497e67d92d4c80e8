import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { ErrorType, NON_RETRYABLE } from '../domain/errors';

/**
 * How long each kind of activity may take and how it is retried, named once. Every long activity heartbeats
 * every 5 s (activities/failures.ts withHeartbeat), so a 20 s heartbeat timeout notices a dead worker quickly.
 */

/** Set-based SQL over a day or a month (attribute, export, reconcile, close, render): minutes at most. */
export const SQL_WORK: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '20 seconds',
  // many quick retries ride out database restarts, cut sessions and serialization conflicts
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 30,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/**
 * SQL_WORK run as a local activity (in the worker that runs the workflow, no round trip through the server):
 * no heartbeat (the workflow task is kept alive by the worker meanwhile), the same timeout and retries.
 */
export const LOCAL_SQL_WORK: LocalActivityOptions = {
  startToCloseTimeout: SQL_WORK.startToCloseTimeout,
  retry: SQL_WORK.retry,
};

/** Shorter set-based SQL (trends, estimates and alerts). */
export const SQL_QUICK_WORK: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/** A read of a few rows or a folder listing. */
export const QUICK_READ: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE },
};

/**
 * One file of the drop folder, streamed inside one transaction. A file's own problems never come back as
 * failures (the activity moves it to failed/); what is retried is the infrastructure, for a few minutes.
 */
export function ingestFileOptions(retry?: {
  maximumAttempts: number;
  initialIntervalMs: number;
}): ActivityOptions {
  return {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '20 seconds',
    retry: {
      initialInterval: retry?.initialIntervalMs ?? 5_000,
      maximumInterval: '1 minute',
      maximumAttempts: retry?.maximumAttempts ?? 6,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  };
}

/**
 * One mail: patient retries with backoff (5 s doubling to 15 min, for 24 h by default); a 5xx is permanent. A
 * worker that dies mid-send is noticed within 15 s.
 */
export function mailOptions(input: { retryWindowMs?: number; initialRetryMs?: number }): ActivityOptions {
  return {
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '15 seconds',
    scheduleToCloseTimeout: input.retryWindowMs ?? 24 * 3_600_000,
    retry: {
      initialInterval: input.initialRetryMs ?? 5_000,
      backoffCoefficient: 2,
      maximumInterval: '15 minutes',
      nonRetryableErrorTypes: [ErrorType.PermanentDeliveryFailure, ErrorType.InvalidInput],
    },
  };
}
