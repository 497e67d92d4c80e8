import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_FILE_MODES, parseMode, type FileModes } from '../domain/file-modes';

/** The project root: infra/ sits one level below it, in source and under tsx alike. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const positiveInt = (fallback: number) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) <= 0) {
      ctx.addIssue({ code: 'custom', message: `must be a positive whole number, got "${v}"` });
      return z.NEVER;
    }
    return Number(v);
  });

const urlOf = (protocols: string[]) =>
  optionalString.refine(
    (v) => v === undefined || protocols.some((p) => v.startsWith(`${p}://`)),
    `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
  );

const mode = (fallback: number) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const m = parseMode(v);
    if (m === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be an octal permission such as 0640, got "${v}"` });
      return z.NEVER;
    }
    return m;
  });

/** "30s", "5m", "1h", "7d" → milliseconds. */
const durationMs = (fallback: number) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const m = /^(\d+)\s*(s|m|h|d)$/.exec(v);
    if (!m || Number(m[1]) <= 0) {
      ctx.addIssue({ code: 'custom', message: `must be a duration such as 30s, 5m, 1h or 7d, got "${v}"` });
      return z.NEVER;
    }
    return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  });

const EnvSchema = z.object({
  DATABASE_URL: urlOf(['postgres', 'postgresql']),
  TEMPORAL_ADDRESS: optionalString.refine(
    (v) => v === undefined || /^[^\s:/]+:\d+$/.test(v),
    'must be host:port, e.g. 127.0.0.1:7233',
  ),
  TEMPORAL_NAMESPACE: optionalString.transform((v) => v ?? 'default'),
  TEMPORAL_TASK_QUEUE: optionalString.transform((v) => v ?? 'orgtally'),
  TEMPORAL_CLI: optionalString,
  SMTP_URL: urlOf(['smtp', 'smtps']),
  MAIL_FROM: optionalString.transform((v) => v ?? 'orgtally <orgtally@localhost>'),
  OUTPUT_DIR: optionalString,
  DROP_DIR: optionalString,
  ORGTALLY_HOME: optionalString,
  INGEST_RETENTION_DAYS: positiveInt(400),
  WORKER_UNREACHABLE_TIMEOUT: durationMs(5 * 60_000),
  OUTPUT_FILE_MODE: mode(DEFAULT_FILE_MODES.file),
  OUTPUT_DIR_MODE: mode(DEFAULT_FILE_MODES.dir),
  ORGTALLY_HTTP_HOST: optionalString.transform((v) => v ?? '127.0.0.1'),
  ORGTALLY_HTTP_PORT: optionalString.transform((v, ctx) => {
    if (v === undefined) return 8080;
    if (!/^\d+$/.test(v) || Number(v) > 65535) {
      ctx.addIssue({ code: 'custom', message: `must be a TCP port (0-65535), got "${v}"` });
      return z.NEVER;
    }
    return Number(v);
  }),
  ORGTALLY_API_RATE_LIMIT: positiveInt(6000),
  ORGTALLY_PUBLIC_URL: urlOf(['http', 'https']),
  ORGTALLY_SESSION_IDLE: durationMs(2 * 3_600_000),
  ORGTALLY_SESSION_MAX: durationMs(12 * 3_600_000),
  ORGTALLY_INVITE_TTL: durationMs(7 * 24 * 3_600_000),
  ORGTALLY_SHARE_SESSION: durationMs(7 * 24 * 3_600_000),
});

export interface Config {
  /** Unset: use the local stack started by `orgtally dev up` (or the demo's own). */
  readonly databaseUrl: string | undefined;
  readonly temporalAddress: string | undefined;
  readonly temporalNamespace: string;
  readonly taskQueue: string;
  readonly temporalCli: string | undefined;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  readonly outputDir: string;
  readonly dropDir: string;
  /** Where the local stack keeps its data, logs and state file (git-ignored). */
  readonly homeDir: string;
  /** Where the project installs tools it fetches itself (the Temporal CLI). */
  readonly toolsDir: string;
  /** Facts older than this many days before "as of" are quarantined as outside retention. */
  readonly retentionDays: number;
  /**
   * A worker that cannot reach Temporal for this long exits non-zero (a supervisor restarts it on the right
   * address) instead of retrying a stale address forever.
   */
  readonly workerUnreachableMs: number;
  /** Permissions of the files and folders orgtally writes under OUTPUT_DIR and the drop folder. */
  readonly fileModes: FileModes;
  /** Where `orgtally serve` listens by default (its --host / --port win). */
  readonly httpHost: string;
  readonly httpPort: number;
  /** Requests per minute one key may make to one endpoint group of the API (then 429). */
  readonly apiRateLimit: number;
  /** The console's address as users reach it (links in invitations); unset: http://<host>:<port>. */
  readonly publicUrl: string | undefined;
  readonly sessionIdleMs: number;
  readonly sessionMaxMs: number;
  readonly inviteTtlMs: number;
  /** How long a viewer of an invite-only shared dashboard stays in after proving its address. */
  readonly shareSessionMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment once; every problem is reported at once, each naming its variable. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const outputDir = path.resolve(PROJECT_ROOT, e.OUTPUT_DIR ?? 'out');
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    temporalCli: e.TEMPORAL_CLI,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    outputDir,
    dropDir: path.resolve(PROJECT_ROOT, e.DROP_DIR ?? path.join(outputDir, 'drop')),
    homeDir: path.resolve(PROJECT_ROOT, e.ORGTALLY_HOME ?? '.orgtally'),
    toolsDir: path.resolve(PROJECT_ROOT, '.tools'),
    retentionDays: e.INGEST_RETENTION_DAYS,
    workerUnreachableMs: e.WORKER_UNREACHABLE_TIMEOUT,
    fileModes: Object.freeze({ file: e.OUTPUT_FILE_MODE, dir: e.OUTPUT_DIR_MODE }),
    httpHost: e.ORGTALLY_HTTP_HOST,
    httpPort: e.ORGTALLY_HTTP_PORT,
    apiRateLimit: e.ORGTALLY_API_RATE_LIMIT,
    publicUrl: e.ORGTALLY_PUBLIC_URL?.replace(/\/+$/, ''),
    sessionIdleMs: e.ORGTALLY_SESSION_IDLE,
    sessionMaxMs: e.ORGTALLY_SESSION_MAX,
    inviteTtlMs: e.ORGTALLY_INVITE_TTL,
    shareSessionMs: e.ORGTALLY_SHARE_SESSION,
  });
}

let cached: Config | undefined;
/** The process's configuration, parsed on first use. Only the edges (CLI, worker, tests) call this. */
export function loadConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

// Query parameters that carry secrets in connection URLs (libpq's password, sslpassword, sslkey; tokens, keys).
const SECRET_PARAM = /pass|secret|token|key|pwd|auth|cred/i;

/** Hides the secrets of a URL (password, and query parameters that look like one) so it can be printed. */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    for (const k of [...u.searchParams.keys()]) if (SECRET_PARAM.test(k)) u.searchParams.set(k, '****');
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}
