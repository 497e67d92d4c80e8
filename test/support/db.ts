import knexFactory, { type Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { createDb } from '../../infra/db';

/**
 * A fresh database for one test file, cloned from the migrated template (graphile-worker's approach): fast, and
 * no test file sees another's rows. Named after the template so teardown can sweep leftovers.
 */
export async function cloneTestDatabase(): Promise<{ db: Knex; url: string; drop: () => Promise<void> }> {
  const templateUrl = process.env.ORGTALLY_TEST_TEMPLATE_URL;
  if (!templateUrl)
    throw new Error('ORGTALLY_TEST_TEMPLATE_URL is unset: run the tests through jest (globalSetup)');
  const u = new URL(templateUrl);
  const template = u.pathname.slice(1);
  const name = `${template}_${randomBytes(4).toString('hex')}`;
  u.pathname = '/postgres';
  const admin = knexFactory({ client: 'pg', connection: u.toString(), pool: { min: 0, max: 1 } });
  await admin.raw('CREATE DATABASE ?? TEMPLATE ??', [name, template]);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = createDb(url);
  return {
    db,
    url,
    drop: async () => {
      await db.destroy();
      await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      await admin.destroy();
    },
  };
}
