import fs from 'node:fs';
import knexFactory from 'knex';
import { stopEmbeddedPostgres } from '../../infra/embedded-postgres';
import { terminate } from '../../infra/process';
import type { TestGlobals } from './paths';

const log = (line: string) => process.stderr.write(`[test teardown] ${line}\n`);

export default async function globalTeardown(): Promise<void> {
  const g = (globalThis as { __orgtally?: TestGlobals }).__orgtally ?? {};
  if (g.temporalPid) await terminate(g.temporalPid);
  if (g.bundlePath) fs.rmSync(g.bundlePath, { force: true });
  if (g.pgBaseDir) {
    stopEmbeddedPostgres(g.pgBaseDir, log);
    fs.rmSync(g.pgBaseDir, { recursive: true, force: true });
  } else if (g.templateUrl) {
    // A shared server (DATABASE_URL): drop this run's template and any clone a crashed test file left.
    const u = new URL(g.templateUrl);
    const template = u.pathname.slice(1);
    u.pathname = '/postgres';
    const admin = knexFactory({ client: 'pg', connection: u.toString(), pool: { min: 0, max: 1 } });
    try {
      const { rows } = await admin.raw(`SELECT datname FROM pg_database WHERE datname LIKE ?`, [
        `${template}%`,
      ]);
      for (const r of rows as { datname: string }[])
        await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [r.datname]);
    } finally {
      await admin.destroy();
    }
  }
}
