import { z } from 'zod';
import { route } from '../route';

/** Datadog's key check: any valid API key, no application key, no permission. */
export const validateRoutes = [
  route({
    method: 'GET',
    url: '/api/v1/validate',
    operationId: 'Validate',
    summary: 'Validate an API key',
    group: 'usage_metering',
    auth: 'api_key',
    need: { permissions: [], parentOnly: false },
    query: z.strictObject({}),
    response: z.object({ valid: z.boolean() }),
    handle: async () => ({ valid: true }),
  }),
];
