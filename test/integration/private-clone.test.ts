import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/config';
import { TEST_HOME } from '../support/paths';

/**
 * A newcomer as root clones into a private folder (root's home, or `mktemp -d`): the embedded Postgres runs as the
 * `postgres` user, who cannot traverse it. `orgtally dev up` (the demo's stack start) must work there all the same.
 */
const asRoot = process.getuid?.() === 0;

(asRoot ? describe : describe.skip)('a clone in a folder private to root', () => {
  it('dev up starts the embedded Postgres and Temporal, dev status sees them, dev down stops them', () => {
    fs.mkdirSync(TEST_HOME, { recursive: true });
    const priv = fs.mkdtempSync(path.join(TEST_HOME, 'private-'));
    fs.chmodSync(priv, 0o700);
    const clone = path.join(priv, 'p');
    // The working tree as a clone has it (hard links: instant, and physically inside the private folder).
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f && fs.existsSync(path.join(PROJECT_ROOT, f)));
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
      fs.linkSync(path.join(PROJECT_ROOT, f), path.join(clone, f));
    }
    execFileSync('cp', ['-al', path.join(PROJECT_ROOT, 'node_modules'), path.join(clone, 'node_modules')]);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_CLI: path.join(PROJECT_ROOT, '.tools', 'temporal', 'bin', 'temporal'),
    };
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(clone, 'bin', 'orgtally'), ...args], {
        cwd: clone,
        env,
        encoding: 'utf8',
      });
    let baseDir: string | undefined;
    try {
      const up = cli('dev', 'up');
      expect(up.stderr).not.toMatch(/EACCES/);
      expect([up.status, up.stderr]).toEqual([0, expect.stringContaining('embedded Postgres ready')]);
      expect(up.stderr).toMatch(/the postgres user cannot reach .*: its data lives in \/.* instead/);
      const state = JSON.parse(fs.readFileSync(path.join(clone, '.orgtally', 'stack.json'), 'utf8'));
      baseDir = state.postgres.baseDir as string;
      expect(baseDir.startsWith(priv)).toBe(false);
      const status = cli('dev', 'status');
      expect(status.stdout).toMatch(/postgres: running[\s\S]*temporal: running/);
      const migrated = cli('migrate');
      expect(migrated.status).toBe(0);
    } finally {
      const down = cli('dev', 'down');
      expect(down.status).toBe(0);
      if (baseDir) fs.rmSync(baseDir, { recursive: true, force: true });
      fs.rmSync(priv, { recursive: true, force: true });
    }
  }, 120_000);
});
