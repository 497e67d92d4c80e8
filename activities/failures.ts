import { ApplicationFailure } from '@temporalio/activity';
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
