import { once } from 'node:events';
import path from 'node:path';
import { parseConfig, PROJECT_ROOT } from '../../infra/config';
import { isAlive, sleep, terminate } from '../../infra/process';
import { stackDown, stackUp } from '../../infra/stack';
import { startTemporalDevServer } from '../../infra/temporal-dev';
import { ensureTemporalCli } from '../../infra/tools';
import { cloneTestDatabase } from '../support/db';
import { tempDir } from '../support/fixtures';
import { spawnWorkerProcess } from '../support/temporal';

/** The local Temporal dev server going away: the stack comes back on its address, workers do not hang on. */
const quiet = () => undefined;
const cli = () => ensureTemporalCli({ toolsDir: path.join(PROJECT_ROOT, '.tools'), log: quiet });

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('Temporal dev server restarts', () => {
  it('dev up after the server died, or after dev down, starts it on the same ports', async () => {
    const config = parseConfig({
      ORGTALLY_HOME: tempDir('stack'),
      DATABASE_URL: 'postgres://postgres@127.0.0.1:9/unused', // only Temporal is started here
    });
    try {
      const first = await stackUp(config, quiet, { detached: false });
      const pid = first.temporal?.pid as number;
      process.kill(pid, 'SIGKILL');
      await until('the server to die', () => !isAlive(pid));
      const second = await stackUp(config, quiet, { detached: false });
      expect(second.temporal?.pid).not.toBe(pid);
      expect([second.temporal?.address, second.temporal?.uiUrl]).toEqual([
        first.temporal?.address,
        first.temporal?.uiUrl,
      ]);
      await stackDown(config, quiet);
      const third = await stackUp(config, quiet, { detached: false });
      expect(third.temporal?.address).toBe(first.temporal?.address);
    } finally {
      await stackDown(config, quiet);
    }
  }, 60_000);

  it('a worker that cannot reach Temporal exits non-zero and says why', async () => {
    const { url, drop } = await cloneTestDatabase();
    const srv = await startTemporalDevServer({
      cli: await cli(),
      ui: false,
      logFile: path.join(tempDir('temporal'), 'temporal.log'),
      detached: false,
      log: quiet,
    });
    const child = spawnWorkerProcess({
      databaseUrl: url,
      taskQueue: 'test-unreachable',
      temporalAddress: srv.address,
      extra: { WORKER_UNREACHABLE_TIMEOUT: '2s' },
      stderr: 'pipe',
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await until('the worker to poll', () => out.includes('ready'));
      await sleep(1_000); // answering: the worker stays
      expect(child.exitCode).toBeNull();
      await terminate(srv.pid);
      const started = Date.now();
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(1);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(out).toMatch(/Temporal at 127\.0\.0\.1:\d+ has not answered for \d+ s: the worker stops/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await terminate(srv.pid);
      await drop();
    }
  }, 60_000);
});
