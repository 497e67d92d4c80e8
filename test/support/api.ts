import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { Readable } from 'node:stream';
import { ingestStream } from '../../activities/ingest-file';
import { buildServer, type ServerOptions } from '../../api/server';
import { applyAccountSpec } from '../../db/accounts';
import { attributeDay } from '../../db/attribution';
import { computeEstimates } from '../../db/estimates';
import { createKey } from '../../db/keys';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { computeTrends } from '../../db/trends';
import { refreshRollup } from '../../db/usage-rollup';
import { cloneTestDatabase } from './db';
import { exampleSpecJson, parseSpec, rec, TEST_AS_OF } from './fixtures';

/**
 * An account with closed months, trends and an estimate, users at every level of the org tree, a key each, and
 * the real server listening on a free loopback port.
 */
export const API_NOW = Date.parse('2026-11-20T12:30:00Z');
export const ORGS = ['acme', 'client-a', 'client-a-eu', 'client-b', 'client-c', 'trial-x'];

/** Users at every level of the tree (root, child, grandchild, a sibling subtree) in every role, one key each. */
export const CALLER_ORGS = ['acme', 'client-a', 'client-a-eu', 'client-b'] as const;
export const CUSTOM_ROLES = {
  finance: ['usage_read', 'billing_read'],
  notify: ['usage_notifications_read', 'usage_notifications_write'],
  access: ['user_access_read', 'user_access_manage'],
  editor: ['usage_read', 'usage_edit'],
} as const;
export const CALLER_ROLES = ['admin', 'standard', 'read_only', ...Object.keys(CUSTOM_ROLES)] as string[];
/** `<org>/<role>`, e.g. `acme/admin`, `client-a/finance`. */
export type UserName = `${(typeof CALLER_ORGS)[number]}/${string}`;
export const USERS: Record<string, { email: string; org: string; role: string }> = Object.fromEntries(
  CALLER_ORGS.flatMap((org) =>
    CALLER_ROLES.map((role) => [`${org}/${role}`, { email: `${role}@${org}.example`, org, role }]),
  ),
);

export interface Keys {
  id: string;
  api_key: string;
  application_key: string;
}

export interface ApiFixture {
  db: Knex;
  url: string;
  app: FastifyInstance;
  keys: Record<string, Keys>;
  headers(user: string): Record<string, string>;
  close(): Promise<void>;
}

export function accessSpec() {
  return {
    ...exampleSpecJson(),
    access: {
      roles: Object.entries(CUSTOM_ROLES).map(([name, permissions]) => ({
        name,
        permissions: [...permissions],
      })),
      users: Object.values(USERS).map((u) => ({ email: u.email, org: u.org, roles: [u.role] })),
    },
  };
}

/** Usage of every org in September and October 2026 (closed) and November so far (estimated). */
async function seed(db: Knex): Promise<void> {
  const lines: string[] = [];
  for (const [i, org] of ORGS.entries())
    for (const day of ['2026-09-05', '2026-10-03', '2026-10-17', '2026-11-02', '2026-11-15'])
      for (const hour of ['03', '15']) {
        lines.push(rec(`${day}T${hour}:00:00Z`, org, 'infra_hosts', 10 + i, ['team:web', 'env:prod']));
        lines.push(rec(`${day}T${hour}:00:00Z`, org, 'infra_hosts', 3, ['team:data']));
        lines.push(rec(`${day}T${hour}:00:00Z`, org, 'apm_ingested_bytes', `${40 + i}.25`, ['service:api']));
        lines.push(rec(`${day}T${hour}:00:00Z`, org, 'logs_indexed_events', `${2 + i}.5`, []));
      }
  await ingestStream(db, {
    source: 'api-fixture.ndjson',
    stream: Readable.from([lines.map((l) => `${l}\n`).join('')]),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
  });
  for (const month of ['2026-09', '2026-10', '2026-11']) {
    for (const day of (await monthDays(db, 'acme', month)).toAttribute)
      if (day < '2026-11-18') await attributeDay(db, { accountId: 'acme', day });
  }
  await closeMonth(db, { accountId: 'acme', month: '2026-09', asOf: '2026-10-05T00:00:00Z' });
  await closeMonth(db, { accountId: 'acme', month: '2026-10', asOf: '2026-11-05T00:00:00Z' });
  await computeTrends(db, { accountId: 'acme', month: '2026-10' });
  await refreshRollup(db);
  await computeEstimates(db, 'acme', '2026-11-18T00:00:00Z');
}

export async function apiFixture(
  opts: { pageSize?: number; rateLimit?: number; console?: ServerOptions['console'] } = {},
): Promise<ApiFixture> {
  const { db, drop } = await cloneTestDatabase();
  await applyAccountSpec(db, parseSpec(accessSpec()), { asOfMs: TEST_AS_OF, actor: 'test' });
  await seed(db);
  const keys: Record<string, Keys> = {};
  for (const [name, u] of Object.entries(USERS))
    keys[name] = await db.transaction((trx) =>
      createKey(trx, { accountId: 'acme', email: u.email, name: 'test', actor: 'test' }),
    );
  const app = await buildServer({
    db,
    rateLimit: { limit: opts.rateLimit ?? 100_000, periodSeconds: 60 },
    pageSize: opts.pageSize,
    now: () => API_NOW,
    console: opts.console,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    db,
    url,
    app,
    keys,
    headers: (user) => {
      const k = keys[user];
      if (!k) throw new Error(`no test user ${user}`);
      return { 'DD-API-KEY': k.api_key, 'DD-APPLICATION-KEY': k.application_key };
    },
    close: async () => {
      await app.close();
      await drop();
    },
  };
}
