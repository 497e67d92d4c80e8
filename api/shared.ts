import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { accountZone } from '../db/console-attribution';
import {
  issueCode,
  openShare,
  recentMisses,
  recordMiss,
  redeemCode,
  startViewerSession,
  viewerOf,
  type OpenShare,
} from '../db/shares';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { isEmail } from '../domain/spec';
import { mailShareCode } from '../infra/share-code-mail';
import { viewerScope } from '../queries/shares';
import { html } from '../web/html';
import type { ConsoleConfig } from '../web/page';
import { sharedDashboard } from '../web/shared/dashboard';
import { codeForm, emailForm, neutralPage, sharedShell, tooManyPage } from '../web/shared/pages';
import { problem } from '../web/sign-in';
import { cookies, preToken, setCookie, type CookieOptions, type CsrfCodec } from './session';
import { onceEach } from './params';

/**
 * Shared dashboards as their viewers reach them: `/shared/<token>`, no account, no key. Every link that opens
 * nothing — unknown, paused, expired, revoked, or narrowed to an org outside the share — gets the same neutral
 * 404 after the same single lookup, and counts against the client address; past the limit every link from that
 * address is a 429 for the window, so guessing gains nothing. An invite-only share first asks for an invited
 * address and a code mailed to it.
 */
interface Deps extends ConsoleConfig {
  db: Knex;
  now: () => number;
  csrf: CsrfCodec;
  cookie: CookieOptions;
  shareMisses: { perAddress: number; windowMs: number };
}

export const VIEWER_COOKIE = 'ot_view';
const CODE_TTL_MS = 15 * 60_000;

export function registerShared(app: FastifyInstance, d: Deps): void {
  const send = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type('text/html; charset=utf-8').send(body);
  // Past the limit, every link from the address is refused alike, a right one too (checked before the lookup).
  const limited = async (req: FastifyRequest, reply: FastifyReply) => {
    if ((await recentMisses(d.db, req.ip, d.shareMisses.windowMs)) < d.shareMisses.perAddress) return false;
    reply.header('retry-after', String(Math.ceil(d.shareMisses.windowMs / 1000)));
    send(reply, 429, tooManyPage(d.shareMisses.windowMs));
    return true;
  };
  const neutral = async (req: FastifyRequest, reply: FastifyReply) => {
    if (await limited(req, reply)) return reply;
    await recordMiss(d.db, req.ip);
    return send(reply, 404, neutralPage());
  };
  const open = async (req: FastifyRequest, reply: FastifyReply, token: string) => {
    if (await limited(req, reply)) return undefined;
    const share = await openShare(d.db, token);
    if (!share) {
      await recordMiss(d.db, req.ip);
      send(reply, 404, neutralPage());
    }
    return share;
  };
  const base = (token: string) => `/shared/${token}`;
  const viewerCookie = (token: string): CookieOptions => ({ ...d.cookie, path: base(token) });
  const preCsrf = (req: FastifyRequest, reply: FastifyReply) =>
    d.csrf.tokenFor('pre', preToken(req, reply, d.cookie));
  const checkPre = (req: FastifyRequest, form: Record<string, string>) => {
    if (!d.csrf.check('pre', cookies(req).ot_pre, form.csrf))
      throw new OrgtallyError(
        ErrorType.Forbidden,
        'This form did not carry a valid security token (cookies may be off). Reload the page and try again.',
      );
  };
  const invitePage = (reply: FastifyReply, share: OpenShare, body: ReturnType<typeof html>, status = 200) =>
    send(reply, status, sharedShell({ title: share.title, body }));

  app.addHook('onSend', async (req, reply) => {
    if (req.url === '/shared' || req.url.startsWith('/shared/') || req.url.startsWith('/shared?'))
      reply.header('x-robots-tag', 'noindex, nofollow');
  });

  app.get('/shared', neutral);
  app.get('/shared/', neutral);
  app.get('/shared/:token/*', neutral);

  app.get('/shared/:token', async (req, reply) => {
    const { token } = req.params as { token: string };
    const share = await open(req, reply, token);
    if (!share) return reply;
    if (share.share_type === 'invite') {
      const cookie = cookies(req)[VIEWER_COOKIE];
      const viewer = cookie ? await viewerOf(d.db, share.id, cookie) : undefined;
      if (!viewer)
        return invitePage(
          reply,
          share,
          emailForm({ action: `${base(token)}/code`, csrf: preCsrf(req, reply) }),
        );
    }
    const scope = await viewerScope(d.db, share);
    try {
      const page = await sharedDashboard({
        db: d.db,
        scope,
        share,
        query: onceEach(req.query as Record<string, unknown>),
        now: d.now(),
        accountZone: await accountZone(d.db, share.account_id),
      });
      return send(reply, 200, sharedShell({ ...page, by: scope.accountName }));
    } catch (err) {
      if (err instanceof OrgtallyError && err.type === ErrorType.NotFound) {
        await recordMiss(d.db, req.ip);
        return send(reply, 404, neutralPage());
      }
      if (err instanceof OrgtallyError && err.type === ErrorType.InvalidInput)
        return invitePage(
          reply,
          share,
          problem({
            message: err.message,
            next: html`<p><a href="${base(token)}">Show the whole dashboard</a></p>`,
          }),
          400,
        );
      throw err;
    }
  });

  app.post('/shared/:token/code', async (req, reply) => {
    const { token } = req.params as { token: string };
    const form = (req.body ?? {}) as Record<string, string>;
    checkPre(req, form);
    const share = await open(req, reply, token);
    if (!share) return reply;
    const csrf = preCsrf(req, reply);
    const email = (form.email ?? '').trim().toLowerCase();
    if (share.share_type !== 'invite') return reply.redirect(base(token), 303);
    if (!isEmail(email))
      return invitePage(
        reply,
        share,
        emailForm({ action: `${base(token)}/code`, csrf, email, error: 'email: give one e-mail address' }),
        400,
      );
    const code = await d.db.transaction((trx) =>
      issueCode(trx, { shareId: share.id, email, ttlMs: CODE_TTL_MS }),
    );
    if (!code)
      await recordMiss(d.db, req.ip); // an address not invited counts, as a wrong link does
    else if (d.mail) {
      // Sent after the answer, so that its time does not tell an invited address from another; the ledger
      // records the outcome.
      const mail = d.mail;
      const accountName = (await viewerScope(d.db, share)).accountName;
      setImmediate(() => {
        mailShareCode(d.db, mail, {
          accountId: share.account_id,
          accountName,
          email,
          codeId: code.id,
          code: code.code,
          title: share.title,
          expiresAt: code.expiresAt,
        }).catch((err: unknown) => req.log.error({ err }, 'share code mail failed'));
      });
    }
    // The same answer whether the address is invited or not: the page does not say who is.
    return invitePage(
      reply,
      share,
      codeForm({ action: `${base(token)}/verify`, csrf, email, mailed: d.mail !== undefined }),
    );
  });

  app.post('/shared/:token/verify', async (req, reply) => {
    const { token } = req.params as { token: string };
    const form = (req.body ?? {}) as Record<string, string>;
    checkPre(req, form);
    const share = await open(req, reply, token);
    if (!share) return reply;
    if (share.share_type !== 'invite') return reply.redirect(base(token), 303);
    const email = (form.email ?? '').trim().toLowerCase();
    const code = (form.code ?? '').trim();
    const ok =
      /^\d{8}$/.test(code) &&
      (await d.db.transaction((trx) => redeemCode(trx, { shareId: share.id, email, code })));
    if (!ok) {
      await recordMiss(d.db, req.ip);
      return invitePage(
        reply,
        share,
        codeForm({
          action: `${base(token)}/verify`,
          csrf: preCsrf(req, reply),
          email,
          mailed: d.mail !== undefined,
          error: 'code: that code is not right, was used already or has expired. Ask for a new one.',
        }),
        400,
      );
    }
    const s = await startViewerSession(d.db, { shareId: share.id, email, ttlMs: d.shareSessionMs });
    setCookie(reply, VIEWER_COOKIE, s.token, {
      ...viewerCookie(token),
      maxAgeSeconds: Math.floor(d.shareSessionMs / 1000),
    });
    return reply.redirect(base(token), 303);
  });
}
