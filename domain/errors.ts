/**
 * The catalogue of stable error types. Workflows and activities raise ApplicationFailure with one of these as
 * `type`; retry policies list the non-retryable ones. Permanent vs transient is decided here, once.
 */
export const ErrorType = {
  InvalidInput: 'OrgtallyInvalidInput',
  UnreadableInput: 'OrgtallyUnreadableInput',
  /** An input could be read but not loaded, for a reason that would come back on every retry. */
  LoadFailed: 'OrgtallyLoadFailed',
  UnknownAccount: 'OrgtallyUnknownAccount',
  /** What was asked for does not exist — or is outside the caller's scope, which is said the same way. */
  NotFound: 'OrgtallyNotFound',
  /** The caller is known but lacks a permission, or stands below the root org for an account-level read. */
  Forbidden: 'OrgtallyForbidden',
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
  ErrorType.LoadFailed,
  ErrorType.UnknownAccount,
  ErrorType.NotFound,
  ErrorType.Forbidden,
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

/** A Postgres server error (pg's DatabaseError), told apart by its shape: domain/ imports no driver. */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; severity?: unknown } | null;
  return e && typeof e.code === 'string' && typeof e.severity === 'string' ? e.code : undefined;
}

// SQLSTATE classes that are about the server or the connection, not the statement: 08 connection exception,
// 40 transaction rollback (serialization, deadlock), 53 insufficient resources, 57 operator intervention
// (admin shutdown, terminated session), 58 system error.
const TRANSIENT_SQL_CLASSES = new Set(['08', '40', '53', '57', '58']);
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const TRANSIENT_MESSAGES =
  /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Timeout acquiring a connection|read ECONNRESET/i;

/**
 * Whether a failure may go away by itself (a lost connection, a restarting server): retry it. Every other failure
 * of the same input comes back on every retry: permanent. Decided here, once.
 */
export function isTransientError(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return TRANSIENT_SQL_CLASSES.has(state.slice(0, 2));
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'string' && TRANSIENT_NODE_CODES.has(e.code)) return true;
  return typeof e?.message === 'string' && TRANSIENT_MESSAGES.test(e.message);
}
