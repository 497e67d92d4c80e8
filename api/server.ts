import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { authenticate, touchKey } from '../db/keys';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { authorize, scopeOf } from '../queries/scope';
import { serverSecret } from '../db/secrets';
import { isConsoleUrl, registerConsole, type ConsoleOptions } from './console';
import { cursorCodec } from './cursor';
import { forbidden, toHttpError } from './errors';
import { stringify } from './json';
import { openApiDocument } from './openapi';
import { rateLimiter, type RateLimit } from './rate-limit';
import type { Download, Route } from './route';
import { ROUTES } from './routes';
import { onceEach } from './params';

export interface ServerOptions {
  db: Knex;
  rateLimit: RateLimit;
  /** Records per page of the paged endpoints (Datadog's: 5 000); tests make it small to walk pages. */
  pageSize?: number;
  /** Pino options, a logger, or false (tests that do not read the log). */
  logger?: boolean | object;
  /** The request's instant; tests fix it. */
  now?: () => number;
  /** The web console's settings (defaults: sessions idle 2 h / at most 12 h, invitations 7 days). */
  console?: Partial<Omit<ConsoleOptions, 'db' | 'now'>>;
}

export const CONSOLE_DEFAULTS: Omit<ConsoleOptions, 'db' | 'now'> = {
  publicUrl: 'http://127.0.0.1:8080',
  inviteTtlMs: 7 * 86_400_000,
  shareSessionMs: 7 * 86_400_000,
  session: { idleMs: 2 * 3_600_000, maxMs: 12 * 3_600_000 },
  signIn: { perAddress: 20, perEmail: 5, windowMs: 15 * 60_000 },
  shareMisses: { perAddress: 20, windowMs: 15 * 60_000 },
};

/**
 * A request as the log keeps it: Fastify's fields, with the secrets some paths carry (a shared dashboard's token,
 * a one-time sign-in or invitation link) cut to their prefix — a log is read by more people than the link was for.
 */
export const maskSecrets = (url: string) => url.replace(/\b(ot[a-z]_)[\w-]{8,}/g, '$1…');
function requestForLog(req: FastifyRequest) {
  return {
    method: req.method,
    url: maskSecrets(req.url),
    hostname: req.hostname,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * The HTTP API: Fastify routes the requests; every route of the table goes through the same steps — keys, rate
 * limit, scope and permissions, input schema, handler, output schema — so none can skip one.
 */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger === true ? { serializers: { req: requestForLog } } : (opts.logger ?? false),
    genReqId: () => randomUUID(),
    bodyLimit: 1 << 20,
  });
  const now = opts.now ?? Date.now;
  const codec = cursorCodec(await serverSecret(opts.db, 'cursor'));
  const limiter = rateLimiter(opts.rateLimit);
  const doc = stringify(openApiDocument(ROUTES));
  // Every route Fastify ends up with, for the test that no endpoint exists outside the table.
  const registered: string[] = [];
  app.addHook('onRoute', (o) => {
    for (const m of [o.method].flat()) registered.push(`${m} ${o.url}`);
  });
  app.decorate('registeredRoutes', registered);

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  // The console's addresses answer with pages, the API's with JSON.
  app.setErrorHandler((err, req, reply) =>
    isConsoleUrl(req.url) && app.consoleError
      ? app.consoleError(req, reply, err)
      : sendError(req, reply, err),
  );
  app.setNotFoundHandler((req, reply) => {
    const what = req.url.split('?')[0];
    if (isConsoleUrl(req.url) && app.consoleError)
      return app.consoleError(
        req,
        reply,
        new OrgtallyError(ErrorType.NotFound, `There is no page at ${what}.`),
      );
    return reply
      .code(404)
      .type('application/json')
      .send(stringify({ errors: [`no endpoint ${req.method} ${what}`] }));
  });
  app.get('/api/openapi.json', async (_req, reply) => reply.type('application/json').send(doc));

  await registerConsole(app, { ...CONSOLE_DEFAULTS, ...opts.console, db: opts.db, now });

  for (const r of ROUTES) {
    app.route({
      method: r.method,
      url: r.url,
      handler: async (req, reply) => {
        const scope = await callerScope(opts.db, r, req, reply, limiter);
        if (!scope) return reply;
        authorize(scope, r.need);
        const input = (schema: Route['query'], value: unknown) => (schema ? schema.parse(value) : undefined);
        const query = input(r.query, onceEach(req.query as Record<string, unknown>));
        const params = input(r.params, req.params);
        const body = input(r.body, req.body ?? {});
        const binding = (filters: unknown) => ({ caller: scope.actor, endpoint: r.operationId, filters });
        const result = await r.handle({
          db: opts.db,
          scope,
          query,
          params,
          body,
          now: now(),
          pageSize: opts.pageSize ?? 5000,
          publicUrl: opts.console?.publicUrl ?? CONSOLE_DEFAULTS.publicUrl,
          pager: {
            issue: (filters, position) => codec.issue(binding(filters), position),
            read: (token, filters, param) => codec.read(token, binding(filters), param),
          },
        });
        // The output schema drops every field it does not declare: nothing undeclared leaves the server.
        if (r.status === 204) return reply.code(204).send();
        if (r.download) {
          const d = result as Download;
          return reply
            .type(d.contentType)
            .header('content-disposition', `attachment; filename="${d.filename}"`)
            .send(d.stream);
        }
        const out = r.response.safeParse(result);
        if (!out.success)
          throw new Error(`${r.operationId}: response does not match its schema`, { cause: out.error });
        return reply
          .code(r.status ?? 200)
          .type('application/json')
          .send(stringify(out.data));
      },
    });
  }
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    registeredRoutes: readonly string[];
  }
}

async function callerScope(
  db: Knex,
  r: Route,
  req: FastifyRequest,
  reply: FastifyReply,
  limiter: ReturnType<typeof rateLimiter>,
) {
  const apiKey = header(req, 'dd-api-key');
  const appKey = header(req, 'dd-application-key');
  if (apiKey === undefined) throw forbidden('Forbidden: send your API key in the DD-API-KEY header');
  if (r.auth === 'key_pair' && appKey === undefined)
    throw forbidden('Forbidden: send your application key in the DD-APPLICATION-KEY header');
  const who = await authenticate(db, apiKey, r.auth === 'key_pair' ? appKey : undefined);
  if (!who.ok) {
    req.log.info({ reason: who.reason }, 'refused keys');
    throw forbidden('Forbidden: the API key or application key is not valid (unknown, revoked or expired)');
  }
  const rate = limiter(who.keyId, r.group);
  reply.headers(rate.headers);
  if (!rate.allowed) {
    void reply
      .code(429)
      .type('application/json')
      .send(
        stringify({
          errors: [
            `Too many requests: at most ${rate.headers['X-RateLimit-Limit']} per ${rate.headers['X-RateLimit-Period']} s`,
          ],
        }),
      );
    return undefined;
  }
  touchKey(db, who.keyId).catch((err: unknown) => req.log.warn({ err }, 'last-used not recorded'));
  req.log.info({ key: who.keyId, user: who.email }, 'caller');
  return scopeOf(db, who.accountId, who.org, {
    permissions: who.permissions,
    actor: `key:${who.keyId} (${who.email})`,
  });
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown) {
  const e = toHttpError(err, req.id);
  if (e.status >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ status: e.status, errors: e.errors }, 'request refused');
  return reply
    .code(e.status)
    .type('application/json')
    .send(stringify({ errors: e.errors }));
}
