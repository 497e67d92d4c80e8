/**
 * The catalogue of stable error types. Workflows and activities raise ApplicationFailure with one of these as
 * `type`; retry policies list the non-retryable ones. Permanent vs transient is decided here, once.
 */
export const ErrorType = {
  InvalidInput: 'OrgtallyInvalidInput',
  UnreadableInput: 'OrgtallyUnreadableInput',
  UnknownAccount: 'OrgtallyUnknownAccount',
  /** Attributed rows or files do not add up to the facts: never publish them. */
  ReconciliationMismatch: 'OrgtallyReconciliationMismatch',
  /** The mail server refused the message for good (5xx): recorded in the ledger, not retried. */
  PermanentDeliveryFailure: 'OrgtallyPermanentDeliveryFailure',
  /** The mail server could not be reached or deferred (4xx): retried with backoff. */
  TransientDeliveryFailure: 'OrgtallyTransientDeliveryFailure',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Failures that no retry can fix. */
export const NON_RETRYABLE: string[] = [
  ErrorType.InvalidInput,
  ErrorType.UnreadableInput,
  ErrorType.UnknownAccount,
  ErrorType.ReconciliationMismatch,
  ErrorType.PermanentDeliveryFailure,
];

/** Raised outside Temporal (CLI, db layer) with a stable code; activities translate it to ApplicationFailure. */
export class OrgtallyError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OrgtallyError';
  }
}
