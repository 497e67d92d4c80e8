import { ZodError } from 'zod';
import { ErrorType, OrgtallyError } from '../domain/errors';

/**
 * Every error a caller can see, in Datadog's shape `{"errors": [...]}`. Only our own messages (written for
 * callers) and zod's issues leave the server; anything else is a 500 that names the request id, and the cause
 * is in the log under that id.
 */
export interface HttpError {
  status: number;
  errors: string[];
}

const STATUS: Partial<Record<string, number>> = {
  [ErrorType.InvalidInput]: 400,
  [ErrorType.UnreadableInput]: 400,
  [ErrorType.NotFound]: 404,
  [ErrorType.Forbidden]: 403,
};

export function toHttpError(err: unknown, requestId: string): HttpError {
  if (err instanceof ZodError) return { status: 400, errors: err.issues.map(issueText) };
  if (err instanceof OrgtallyError) {
    const status = STATUS[err.type];
    if (status !== undefined) return { status, errors: [err.message] };
  }
  // Fastify's own client errors (a body that is not JSON, too large, a bad content type) say what is wrong.
  const f = err as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  if (f && typeof f.code === 'string' && f.code.startsWith('FST_') && typeof f.statusCode === 'number')
    if (f.statusCode >= 400 && f.statusCode < 500)
      return { status: f.statusCode, errors: [String(f.message)] };
  return {
    status: 500,
    errors: [`internal error: the server log has the details under request id ${requestId}`],
  };
}

export const forbidden = (why: string) => new OrgtallyError(ErrorType.Forbidden, why);

function issueText(i: ZodError['issues'][number]): string {
  const at = i.path.map(String).join('.');
  if (i.code === 'unrecognized_keys')
    return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}${at ? ` in ${at}` : ''}`;
  if (i.code === 'invalid_type' && i.input === undefined) return `${at}: is required`;
  return at ? `${at}: ${i.message}` : i.message;
}
