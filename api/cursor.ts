import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ErrorType, OrgtallyError } from '../domain/errors';

/**
 * Opaque, signed pagination cursors: a cursor names its caller, its endpoint and a digest of the filters it was
 * issued for. One presented by another caller, to another endpoint, with other filters, or edited, is a 400 —
 * a cursor can continue a listing, never widen it.
 */
export interface CursorCodec {
  issue(binding: CursorBinding, position: unknown): string;
  /** The position a cursor carries; `param` names the query parameter in the error. */
  read(token: string, binding: CursorBinding, param: string): unknown;
}

export interface CursorBinding {
  caller: string;
  endpoint: string;
  filters: unknown;
}

const digest = (b: CursorBinding) =>
  createHash('sha256')
    .update(JSON.stringify([b.caller, b.endpoint, b.filters]))
    .digest('base64url')
    .slice(0, 22);

export function cursorCodec(secret: Buffer): CursorCodec {
  const sign = (body: string) => createHmac('sha256', secret).update(body).digest().subarray(0, 16);
  return {
    issue(binding, position) {
      const body = Buffer.from(JSON.stringify({ b: digest(binding), p: position })).toString('base64url');
      return `${body}.${sign(body).toString('base64url')}`;
    },
    read(token, binding, param) {
      const bad = (why: string) =>
        new OrgtallyError(ErrorType.InvalidInput, `${param}: ${why}; start again without ${param}`);
      const [body, mac, extra] = token.split('.');
      if (!body || !mac || extra !== undefined) throw bad('is not a cursor this server issued');
      const given = Buffer.from(mac, 'base64url');
      const want = sign(body);
      if (given.length !== want.length || !timingSafeEqual(given, want))
        throw bad('is not a cursor this server issued');
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
        b: string;
        p: unknown;
      };
      if (payload.b !== digest(binding))
        throw bad('was issued for another caller or other filters than these');
      return payload.p;
    },
  };
}
