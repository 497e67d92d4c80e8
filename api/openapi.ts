import { z } from 'zod';
import { jsonInteger, jsonNumber } from './json';
import type { Route } from './route';

/**
 * OpenAPI 3.1 generated from the route table's zod schemas: the document cannot drift from what the server
 * validates and sends. Exact numbers are JSON numbers (integers where Datadog types them so).
 */
const toSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: (ctx) => {
      if (ctx.zodSchema === jsonNumber) Object.assign(ctx.jsonSchema, { type: 'number' });
      if (ctx.zodSchema === jsonInteger) Object.assign(ctx.jsonSchema, { type: 'integer' });
    },
  });

const errorResponse = (description: string) => ({
  description,
  content: {
    'application/json': {
      schema: { type: 'object', properties: { errors: { type: 'array', items: { type: 'string' } } } },
    },
  },
});

function parameters(r: Route) {
  const out: Record<string, unknown>[] = [];
  for (const [where, schema] of [
    ['path', r.params],
    ['query', r.query],
  ] as const) {
    if (!(schema instanceof z.ZodObject)) continue;
    for (const [name, s] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      out.push({
        name,
        in: where,
        required: where === 'path' || !s.safeParse(undefined).success,
        schema: toSchema(s, 'input'),
      });
    }
  }
  return out;
}

export function openApiDocument(routes: readonly Route[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([a-z_]+)/g, '{$1}');
    const status = String(r.status ?? 200);
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.group],
      'x-permission': { operator: 'AND', permissions: r.need.permissions },
      'x-parent-org-only': r.need.parentOnly,
      security: r.auth === 'api_key' ? [{ apiKeyAuth: [] }] : [{ apiKeyAuth: [], appKeyAuth: [] }],
      parameters: parameters(r),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: toSchema(r.body, 'input') } },
            },
          }
        : {}),
      responses: {
        [status]:
          status === '204'
            ? { description: 'Done' }
            : r.download
              ? { description: 'The file', content: { 'text/csv': {}, 'text/tab-separated-values': {} } }
              : {
                  description: 'OK',
                  content: { 'application/json': { schema: toSchema(r.response, 'output') } },
                },
        400: errorResponse('Bad request: the message names the parameter'),
        403: errorResponse('Missing, wrong, revoked or expired keys; or a permission the caller lacks'),
        404: errorResponse('Not found, or outside the caller’s orgs (said the same way)'),
        429: errorResponse('Too many requests (X-RateLimit-* headers)'),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'orgtally API',
      version: '1',
      description:
        'Datadog-compatible usage and cost endpoints (same paths, parameters and field names) and orgtally’s own under /api/orgtally/v1.',
    },
    components: {
      securitySchemes: {
        apiKeyAuth: { type: 'apiKey', in: 'header', name: 'DD-API-KEY' },
        appKeyAuth: { type: 'apiKey', in: 'header', name: 'DD-APPLICATION-KEY' },
      },
    },
    paths,
  };
}
