import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { denial } from '../domain/access';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { serverSecret } from '../db/secrets';
import type { SessionLimits } from '../db/sessions';
import { scopeOf, type Scope } from '../queries/scope';
import { html } from '../web/html';
import { shell, type NavItem } from '../web/layout';
import type { Action, ConsoleConfig, PageCtx, Rendered } from '../web/page';
import { ACTIONS, PAGES } from '../web/pages';
import { problem } from '../web/sign-in';
import { toHttpError } from './errors';
import { csrfCodec, currentUser, type CookieOptions, type CsrfCodec } from './session';
import { registerShared } from './shared';
import { registerSignIn, type SignInLimits } from './sign-in';
import { onceEach } from './params';

/**
 * The web console, on the same server as the API: sessions instead of keys, HTML instead of JSON, and the same
 * scope and permission check (queries/scope.ts) before every page. A page the user may not open is a 404, as an
 * unknown address is: the console does not say what exists beyond what the user may see.
 */
export interface ConsoleOptions extends ConsoleConfig {
  db: Knex;
  now: () => number;
  session: SessionLimits;
  signIn: SignInLimits;
  /** Links that open nothing, allowed per client address in the window (then 429 for every link). */
  shareMisses: { perAddress: number; windowMs: number };
}

const CSS = fs.readFileSync(path.join(__dirname, '..', 'web', 'assets', 'console.css'));

// No script at all, styles from our own stylesheet, forms only to ourselves, never inside a frame.
export const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const isConsoleUrl = (url: string) => !url.startsWith('/api/');

export async function registerConsole(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const csrf = csrfCodec(await serverSecret(opts.db, 'csrf'));
  const cookie: CookieOptions = { secure: opts.publicUrl.startsWith('https://') };

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_req, body, done) => {
      try {
        done(null, formOf(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
  app.addHook('onSend', async (req, reply) => {
    if (!isConsoleUrl(req.url)) return;
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    // One-time links carry their token in the path: it must not leave in a Referer.
    reply.header('referrer-policy', 'no-referrer');
    if (!req.url.startsWith('/assets/')) reply.header('cache-control', 'no-store');
  });
  app.get('/assets/console.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(CSS),
  );

  const signedIn = async (req: FastifyRequest) => {
    const who = await currentUser(opts.db, req, opts.session);
    if (!who) return undefined;
    const scope = await scopeOf(opts.db, who.user.accountId, who.user.org, {
      permissions: who.user.permissions,
      actor: `user:${who.user.email}`,
    });
    return { ...who, scope };
  };
  type Who = NonNullable<Awaited<ReturnType<typeof signedIn>>>;

  const send = (reply: FastifyReply, req: FastifyRequest, who: Who, r: Rendered) =>
    reply
      .code(r.status ?? 200)
      .type('text/html; charset=utf-8')
      .send(
        shell({
          title: r.title,
          body: r.body,
          nav: navFor(who.scope, req.url),
          who: {
            email: who.user.email,
            org: who.scope.orgs.get(who.scope.org) ?? who.scope.org,
            account: who.scope.accountName,
            csrf: csrf.tokenFor('session', who.token),
          },
        }),
      );

  const ctxOf = (req: FastifyRequest, who: Who): PageCtx => ({
    db: opts.db,
    scope: who.scope,
    email: who.user.email,
    query: onceEach(req.query as Record<string, unknown>),
    params: req.params as Record<string, string>,
    now: opts.now(),
    csrf: csrf.tokenFor('session', who.token),
    config: opts,
  });

  app.get('/', async (req, reply) => {
    const who = await signedIn(req);
    if (!who) return reply.redirect('/sign-in', 303);
    const first = navFor(who.scope, '/')[0];
    if (first) return reply.redirect(first.href, 303);
    return send(reply, req, who, {
      title: 'Nothing to show yet',
      body: problem({
        message:
          'Your roles give you no page of the console. An admin of your organization can give you a role with usage_read.',
      }),
    });
  });

  for (const page of PAGES)
    app.get(page.path, async (req, reply) => {
      const who = await signedIn(req);
      if (!who) return reply.redirect(`/sign-in?next=${encodeURIComponent(req.url)}`, 303);
      if (denial(who.scope, page.need)) throw pageNotFound(req.url);
      const out = await page.render(ctxOf(req, who));
      if ('download' in out)
        return reply
          .type(out.download.contentType)
          .header('content-disposition', `attachment; filename="${out.download.filename}"`)
          .send(out.download.stream);
      return send(reply, req, who, out);
    });

  for (const action of ACTIONS)
    app.post(action.path, async (req, reply) => {
      const who = await signedIn(req);
      if (!who) return reply.redirect('/sign-in', 303);
      const form = (req.body ?? {}) as Record<string, string>;
      if (!csrf.check('session', who.token, form.csrf)) throw refusedForm();
      if (denial(who.scope, action.need)) throw pageNotFound(req.url);
      const ctx = { ...ctxOf(req, who), form };
      try {
        const out = await action.handle(ctx);
        if ('redirect' in out) return reply.redirect(out.redirect, 303);
        return send(reply, req, who, out);
      } catch (err) {
        if (!(err instanceof OrgtallyError && err.type === ErrorType.InvalidInput)) throw err;
        return send(
          reply,
          req,
          who,
          await refusedPage(action, { ...ctx, refused: { form, error: err.message } }),
        );
      }
    });

  registerSignIn(app, {
    ...opts,
    csrf,
    cookie,
    signedIn: async (req) => (await signedIn(req)) !== undefined,
  });

  registerShared(app, { ...opts, csrf, cookie });

  // Errors of the console's addresses are pages; the API's stay JSON (api/server.ts asks isConsoleUrl).
  app.decorate('consoleError', (req: FastifyRequest, reply: FastifyReply, err: unknown) =>
    sendProblem(req, reply, err, csrf),
  );
}

declare module 'fastify' {
  interface FastifyInstance {
    consoleError?: (req: FastifyRequest, reply: FastifyReply, err: unknown) => FastifyReply;
  }
}

/** The pages this scope may open, in table order: what the navigation lists. */
export function navFor(scope: Scope, url: string): NavItem[] {
  const at = url.split('?')[0] ?? '/';
  return PAGES.filter((p) => p.nav && !denial(scope, p.need)).map((p) => ({
    label: p.nav as string,
    href: p.path,
    current: at === p.path || at.startsWith(`${p.path}/`),
  }));
}

async function refusedPage(action: Action, ctx: PageCtx): Promise<Rendered> {
  const page = PAGES.find((p) => p.path === action.back);
  if (!page) throw new Error(`action ${action.path}: no page ${action.back} to show its refusal on`);
  const out = await page.render(ctx);
  if ('download' in out) throw new Error(`action ${action.path}: ${action.back} is a download`);
  return { ...out, status: 400 };
}

const pageNotFound = (url: string) =>
  new OrgtallyError(ErrorType.NotFound, `There is no page at ${url.split('?')[0]} that you can open.`);

export const refusedForm = () =>
  new OrgtallyError(
    ErrorType.Forbidden,
    'This form did not carry a valid security token (it is older than your session, or it was not sent from orgtally). Go back, reload the page and try again.',
  );

/** A form body; every field once (the console's forms never repeat a name). */
export function formOf(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    if (k in out) throw new OrgtallyError(ErrorType.InvalidInput, `${k}: the form sent it twice`);
    out[k] = v;
  }
  return out;
}

const TITLES: Record<number, string> = {
  400: 'There is a problem with the request',
  403: 'Refused',
  404: 'Page not found',
  429: 'Too many attempts',
  500: 'Sorry, something went wrong',
};

function sendProblem(req: FastifyRequest, reply: FastifyReply, err: unknown, _csrf: CsrfCodec) {
  const e = toHttpError(err, req.id);
  if (e.status >= 500) req.log.error({ err }, 'page failed');
  else req.log.info({ status: e.status, errors: e.errors }, 'page refused');
  const status = e.status === 403 && !(err instanceof OrgtallyError) ? 400 : e.status;
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(
      shell({
        title: TITLES[status] ?? 'Refused',
        body: problem({
          message: e.errors.join(' '),
          next: html`<p><a href="/">Go to the console's first page</a></p>`,
        }),
      }),
    );
}
