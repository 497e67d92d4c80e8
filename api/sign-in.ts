import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { peekLink, recentFailures, recordAttempt, redeemLink, safeNext } from '../db/login-tokens';
import { createSession, endSession, passwordUsers, setPassword, type SessionLimits } from '../db/sessions';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { html } from '../web/html';
import { shell } from '../web/layout';
import { problem, setPasswordForm, signInForm } from '../web/sign-in';
import { hashPassword, passwordProblem, verifyPassword } from './passwords';
import {
  SESSION_COOKIE,
  clearCookie,
  cookies,
  preToken,
  setCookie,
  type CookieOptions,
  type CsrfCodec,
} from './session';

/**
 * Signing in and out: the sign-in form (failures limited per address and per e-mail), invitations (set a
 * password, then signed in), one-time sign-in links, and sign-out. A signed-out form carries a CSRF token bound
 * to the browser's pre-session cookie.
 */
export interface SignInLimits {
  /** Failed attempts allowed per client address, and per e-mail, in the window. */
  perAddress: number;
  perEmail: number;
  windowMs: number;
}

interface Deps {
  db: Knex;
  session: SessionLimits;
  signIn: SignInLimits;
  csrf: CsrfCodec;
  cookie: CookieOptions;
  signedIn(req: FastifyRequest): Promise<boolean>;
}

const page = (reply: FastifyReply, title: string, body: ReturnType<typeof html>, status = 200) =>
  reply.code(status).type('text/html; charset=utf-8').send(shell({ title, body }));

export function registerSignIn(app: FastifyInstance, d: Deps): void {
  const startSession = async (reply: FastifyReply, userId: string) => {
    const token = await createSession(d.db, userId, d.session);
    setCookie(reply, SESSION_COOKIE, token, {
      ...d.cookie,
      maxAgeSeconds: Math.floor(d.session.maxMs / 1000),
    });
  };
  const checkPre = (req: FastifyRequest, form: Record<string, string>) => {
    if (!d.csrf.check('pre', cookies(req).ot_pre, form.csrf))
      throw new OrgtallyError(
        ErrorType.Forbidden,
        'This form did not carry a valid security token (cookies may be off, or the form was not sent from orgtally). Reload the page and try again.',
      );
  };

  app.get('/sign-in', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const next = safeNext(typeof q.next === 'string' ? q.next : undefined);
    if (await d.signedIn(req)) return reply.redirect(next, 303);
    const csrf = d.csrf.tokenFor('pre', preToken(req, reply, d.cookie));
    return page(reply, 'Sign in', signInForm({ csrf, next }));
  });

  app.post('/sign-in', async (req, reply) => {
    const form = (req.body ?? {}) as Record<string, string>;
    checkPre(req, form);
    const email = (form.email ?? '').trim().toLowerCase();
    const next = safeNext(form.next || undefined);
    const csrf = d.csrf.tokenFor('pre', preToken(req, reply, d.cookie));
    if (!email || !form.password)
      return page(
        reply,
        'Sign in',
        signInForm({ csrf, next, email, error: 'email and password: give both' }),
        400,
      );
    const failures = await recentFailures(d.db, { address: req.ip, email, windowMs: d.signIn.windowMs });
    if (failures.address >= d.signIn.perAddress || failures.email >= d.signIn.perEmail) {
      req.log.warn({ address: req.ip, email, failures }, 'sign-in limited');
      const minutes = Math.round(d.signIn.windowMs / 60_000);
      return page(
        reply,
        'Too many attempts',
        problem({
          message: `Too many failed sign-ins ${failures.email >= d.signIn.perEmail ? 'for this account' : 'from this address'}. Wait ${minutes} minutes, then try again — or ask an admin for a sign-in link.`,
        }),
        429,
      );
    }
    let userId: string | undefined;
    const candidates = await passwordUsers(d.db, email);
    // An unknown e-mail costs the same hash as a wrong password: the time taken tells nobody who has an account.
    if (!candidates.length) await verifyPassword(await dummyHash(), form.password);
    for (const u of candidates)
      if (await verifyPassword(u.password_hash, form.password)) {
        userId = u.id;
        break;
      }
    await recordAttempt(d.db, { address: req.ip, email, ok: userId !== undefined });
    if (!userId)
      // The same answer whether the e-mail is unknown or the password wrong: the form tells nobody who has an account.
      return page(
        reply,
        'Sign in',
        signInForm({ csrf, next, email, error: 'The e-mail address or the password is not right.' }),
        401,
      );
    await startSession(reply, userId);
    return reply.redirect(next, 303);
  });

  app.get('/invite/:token', async (req, reply) => {
    const { token } = req.params as { token: string };
    const link = await peekLink(d.db, token);
    if (!link || link.kind !== 'invite')
      return page(reply, 'This invitation cannot be used', linkGone(), 404);
    const csrf = d.csrf.tokenFor('pre', preToken(req, reply, d.cookie));
    return page(
      reply,
      'Set your password',
      setPasswordForm({ csrf, action: `/invite/${token}`, email: link.email }),
    );
  });

  app.post('/invite/:token', async (req, reply) => {
    const { token } = req.params as { token: string };
    const form = (req.body ?? {}) as Record<string, string>;
    checkPre(req, form);
    const link = await peekLink(d.db, token);
    if (!link || link.kind !== 'invite')
      return page(reply, 'This invitation cannot be used', linkGone(), 404);
    const why = passwordProblem(form.password ?? '', form.confirm ?? '');
    if (why) {
      const csrf = d.csrf.tokenFor('pre', preToken(req, reply, d.cookie));
      const body = setPasswordForm({ csrf, action: `/invite/${token}`, email: link.email, error: why });
      return page(reply, 'Set your password', body, 400);
    }
    const hash = await hashPassword(form.password as string);
    const used = await d.db.transaction(async (trx) => {
      const u = await redeemLink(trx, token, 'invite');
      if (u) await setPassword(trx, { userId: u.userId, hash, actor: `user:${u.email}` });
      return u;
    });
    if (!used) return page(reply, 'This invitation cannot be used', linkGone(), 404);
    await startSession(reply, used.userId);
    return reply.redirect(used.next, 303);
  });

  // A sign-in link is printed for an operator (never mailed), so opening it is the sign-in.
  app.get('/login/:token', async (req, reply) => {
    const { token } = req.params as { token: string };
    const used = await d.db.transaction((trx) => redeemLink(trx, token, 'login'));
    if (!used) return page(reply, 'This sign-in link cannot be used', linkGone(), 404);
    const prev = cookies(req)[SESSION_COOKIE];
    if (prev) await endSession(d.db, prev);
    await startSession(reply, used.userId);
    return reply.redirect(used.next, 303);
  });

  app.post('/sign-out', async (req, reply) => {
    const token = cookies(req)[SESSION_COOKIE];
    const form = (req.body ?? {}) as Record<string, string>;
    if (token) {
      if (!d.csrf.check('session', token, form.csrf))
        throw new OrgtallyError(
          ErrorType.Forbidden,
          'Sign-out refused: the form carried no valid security token. Reload the page and try again.',
        );
      await endSession(d.db, token);
    }
    clearCookie(reply, SESSION_COOKIE, d.cookie);
    return page(
      reply,
      'Signed out',
      problem({ message: 'You are signed out.', next: html`<p><a href="/sign-in">Sign in again</a></p>` }),
    );
  });
}

let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= hashPassword('no user has this password'));

const linkGone = () =>
  problem({
    message:
      'The link has been used already, has expired, or was never issued. Ask an admin of your organization for a new one.',
    next: html`<p><a href="/sign-in">Sign in</a></p>`,
  });
