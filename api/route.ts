import type { Knex } from 'knex';
import type { z } from 'zod';
import type { Requirement } from '../domain/access';
import type { Scope } from '../queries/scope';

/**
 * One endpoint: its path, what it needs of the caller, the zod schemas of its input and output, and its handler.
 * The route table (api/routes/index.ts) is the list of these: the server registers it, the OpenAPI document is
 * generated from it, and the permission matrix test walks it.
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Pagination for one caller and endpoint: cursors are bound to both and to the filters. */
export interface Pager {
  issue(filters: unknown, position: unknown): string;
  read(token: string, filters: unknown, param: string): unknown;
}

export interface Ctx<Q, P, B> {
  db: Knex;
  scope: Scope;
  query: Q;
  params: P;
  body: B;
  /** The request's instant: figures "as of now" are as of this. */
  now: number;
  pager: Pager;
  pageSize: number;
  /** Where people reach this server (ORGTALLY_PUBLIC_URL, else the listen address): shared links start with it. */
  publicUrl: string;
}

export interface Route<
  Q extends z.ZodType = z.ZodType,
  P extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** Fastify's syntax: `/api/v2/roles/:role_id`. */
  url: string;
  operationId: string;
  summary: string;
  /** The OpenAPI tag, and the X-RateLimit-Name of the group. */
  group: 'usage_metering' | 'roles' | 'dashboards' | 'orgtally';
  /** `api_key`: the API key alone is enough (Datadog's /validate); otherwise both keys. */
  auth: 'api_key' | 'key_pair';
  need: Requirement;
  query?: Q;
  params?: P;
  body?: B;
  response: R;
  status?: number;
  /** The handler returns a file (a `Download`), streamed as it is; `response` describes nothing then. */
  download?: boolean;
  handle(ctx: Ctx<z.output<Q>, z.output<P>, z.output<B>>): Promise<z.input<R>>;
}

/** Keeps the handler's types tied to the schemas, then forgets them for the table. */
export function route<Q extends z.ZodType, P extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  r: Route<Q, P, B, R>,
): Route {
  return r as unknown as Route;
}

export { COST_READ, PARENT_USAGE_READ, USAGE_READ } from '../domain/access';

/** A file to stream to the caller (month-end CSV/TSV), straight from Postgres. */
export interface Download {
  filename: string;
  contentType: string;
  stream: NodeJS.ReadableStream;
}
