import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { sessionUser, type SessionLimits, type SessionUser } from '../db/sessions';

/**
 * The console's cookies. `ot_session` holds the session token (the database keeps its digest); `ot_pre` is a
 * random value given to a browser that is not signed in, so that the sign-in and invitation forms carry a CSRF
 * token too. A form's token is an HMAC of the cookie under a key of the database: never stored, never guessable
 * from another site, and it changes with the session.
 */
export const SESSION_COOKIE = 'ot_session';
export const PRE_COOKIE = 'ot_pre';

export function cookies(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !(k in out)) out[k] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

export interface CookieOptions {
  /** Served over https (directly or behind a proxy that says so): the cookie is Secure. */
  secure: boolean;
  maxAgeSeconds?: number;
  /** Default `/`; a shared dashboard's viewer cookie is sent to its own link only. */
  path?: string;
}

export function setCookie(reply: FastifyReply, name: string, value: string, o: CookieOptions): void {
  const attrs = [`${name}=${encodeURIComponent(value)}`, `Path=${o.path ?? '/'}`, 'HttpOnly', 'SameSite=Lax'];
  if (o.secure) attrs.push('Secure');
  if (o.maxAgeSeconds !== undefined) attrs.push(`Max-Age=${o.maxAgeSeconds}`);
  const prev = reply.getHeader('set-cookie');
  const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
  reply.header('set-cookie', [...list, attrs.join('; ')]);
}

export const clearCookie = (reply: FastifyReply, name: string, o: CookieOptions) =>
  setCookie(reply, name, '', { ...o, maxAgeSeconds: 0 });

export function csrfCodec(secret: Buffer) {
  const mac = (kind: string, value: string) =>
    createHmac('sha256', secret).update(`${kind}:${value}`).digest('base64url');
  return {
    tokenFor: (kind: 'session' | 'pre', value: string) => mac(kind, value),
    check(kind: 'session' | 'pre', value: string | undefined, given: unknown): boolean {
      if (!value || typeof given !== 'string' || !given) return false;
      const want = Buffer.from(mac(kind, value));
      const got = Buffer.from(given);
      return want.length === got.length && timingSafeEqual(want, got);
    },
  };
}
export type CsrfCodec = ReturnType<typeof csrfCodec>;

/** The signed-in user of the request, or undefined (no cookie, an unknown or ended session). */
export async function currentUser(
  db: Knex,
  req: FastifyRequest,
  limits: SessionLimits,
): Promise<{ token: string; user: SessionUser } | undefined> {
  const token = cookies(req)[SESSION_COOKIE];
  if (!token) return undefined;
  const user = await sessionUser(db, token, limits);
  return user && { token, user };
}

/** The pre-session cookie's value, made when the browser has none yet. */
export function preToken(req: FastifyRequest, reply: FastifyReply, o: CookieOptions): string {
  const have = cookies(req)[PRE_COOKIE];
  if (have) return have;
  const v = randomBytes(24).toString('base64url');
  setCookie(reply, PRE_COOKIE, v, o);
  return v;
}
