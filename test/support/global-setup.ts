import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/config';
import { createDb } from '../../infra/db';
import { startEmbeddedPostgres } from '../../infra/embedded-postgres';
import { freePort } from '../../infra/process';
import { startTemporalDevServer } from '../../infra/temporal-dev';
import { ensureTemporalCli } from '../../infra/tools';
import { buildWorkflowBundle } from '../../worker/worker';
import { ensureDatabase, migrateLatest } from '../../db/migrate';
import { TEST_HOME, type TestGlobals } from './paths';

const log = (line: string) => process.stderr.write(`[test setup] ${line}\n`);

/**
 * Once per run: a real Postgres (DATABASE_URL's server, else an embedded one) with a migrated template database
 * that each test file clones; a real Temporal dev server (in memory); the workflow bundle, built once.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  fs.mkdirSync(TEST_HOME, { recursive: true });
  const globals: TestGlobals = {};
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const pg = startEmbeddedPostgres({
      baseDir: path.join(TEST_HOME, `pg-${process.pid}`),
      port: await freePort(),
      log,
    });
    globals.pgBaseDir = pg.baseDir;
    serverUrl = pg.url;
  }
  const template = `orgtally_test_template_${process.pid}`;
  const templateUrl = withDatabase(serverUrl, template);
  await ensureDatabase(templateUrl);
  const db = createDb(templateUrl, { max: 1 });
  try {
    await migrateLatest(db);
  } finally {
    await db.destroy();
  }
  process.env.ORGTALLY_TEST_TEMPLATE_URL = templateUrl;
  globals.templateUrl = templateUrl;

  let address = process.env.TEMPORAL_ADDRESS;
  if (!address) {
    const cli = await ensureTemporalCli({
      explicit: process.env.TEMPORAL_CLI,
      toolsDir: path.join(PROJECT_ROOT, '.tools'),
      log,
    });
    const srv = await startTemporalDevServer({
      cli,
      ui: false,
      logFile: path.join(TEST_HOME, 'temporal.log'),
      detached: false,
      log,
    });
    globals.temporalPid = srv.pid;
    address = srv.address;
  }
  process.env.ORGTALLY_TEST_TEMPORAL_ADDRESS = address;

  const { code } = await buildWorkflowBundle(log);
  const bundlePath = path.join(TEST_HOME, `workflow-bundle-${process.pid}.js`);
  fs.writeFileSync(bundlePath, code);
  process.env.ORGTALLY_TEST_BUNDLE = bundlePath;
  globals.bundlePath = bundlePath;

  (globalThis as { __orgtally?: TestGlobals }).__orgtally = globals;
  log(`ready in ${Date.now() - started} ms (Postgres template ${template}, Temporal ${address})`);
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
