import { ApplicationFailure, Context } from '@temporalio/activity';
import { NON_RETRYABLE, OrgtallyError } from '../domain/errors';

/** Runs an activity body; an OrgtallyError becomes an ApplicationFailure of its catalogue type (cause kept). */
export async function asActivity<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OrgtallyError) {
      throw ApplicationFailure.create({
        message: err.message,
        type: err.type,
        nonRetryable: NON_RETRYABLE.includes(err.type),
        cause: err,
      });
    }
    throw err;
  }
}

/** Keeps a long step visibly alive to Temporal (heartbeat timeout), so a dead worker is noticed quickly. */
export async function withHeartbeat<T>(fn: () => Promise<T>): Promise<T> {
  // A local activity has no heartbeat: the worker keeps its workflow task alive instead.
  if (Context.current().info.isLocal) return fn();
  const timer = setInterval(() => Context.current().heartbeat(), 5_000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
