import path from 'node:path';
import { loadConfig } from '../infra/config';
import { fuzzFiles } from './fuzz';
import { faultPhases, type Injected } from './inject';
import { EXAMPLE_SPEC, type FaultProfile } from './profiles';
import { runOnce, type MonthRange, type RunResult } from './scenario';
import { differences } from './snapshot';
import { startFaultStack } from './stack';

/**
 * The fault suite: the main job run twice from empty on the same inputs — once clean, once under faults — then
 * every table and output file compared, every mail counted at the SMTP server, every record accounted for.
 */
export interface SuiteReport {
  ok: boolean;
  profile: FaultProfile['name'];
  seed: number;
  faults: { fault: string; planned: number; injected: number; survived: boolean }[];
  checks: { check: string; ok: boolean; detail: string }[];
  seconds: { clean: number; faulty: number };
}

/** The month the runs backfill: the one before last (ended, and past any lateness window), whole. */
export function suiteMonth(nowMs: number): MonthRange {
  const now = new Date(nowMs);
  const fromMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1);
  const toMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { month: day(fromMs).slice(0, 7), from: day(fromMs), to: day(toMs - 86_400_000), fromMs, toMs };
}

function checks(clean: RunResult, faulty: RunResult): SuiteReport['checks'] {
  const out: SuiteReport['checks'] = [];
  const add = (check: string, ok: boolean, detail: string) => out.push({ check, ok, detail });
  const diff = differences(clean.snapshot, faulty.snapshot);
  const tables = Object.keys(clean.snapshot.tables).length;
  const files = Object.keys(clean.snapshot.files).length;
  add(
    'every table the same as the clean run',
    !diff.some((d) => d.startsWith('table')),
    diff.filter((d) => d.startsWith('table')).join('; ') || `${tables} tables`,
  );
  add(
    'every output file byte-identical',
    files > 0 && !diff.some((d) => d.startsWith('file')),
    diff
      .filter((d) => d.startsWith('file'))
      .slice(0, 5)
      .join('; ') || `${files} files`,
  );
  for (const [name, r] of [
    ['clean', clean],
    ['faulty', faulty],
  ] as const) {
    const off = r.accounting.filter((a) => a.read !== a.written || a.accepted + a.quarantined !== a.read);
    const records = r.accounting.reduce((n, a) => n + a.written, 0);
    add(
      `${name}: accepted + quarantined = physical records, every file`,
      off.length === 0,
      off
        .map((a) => `${a.file}: ${a.written} written, ${a.read} read, ${a.accepted}+${a.quarantined}`)
        .join('; ') || `${r.accounting.length} files, ${records.toLocaleString('en-US')} records`,
    );
  }
  const twice = [...faulty.mails].filter(([, n]) => n !== 1);
  const sameSet =
    clean.mails.size === faulty.mails.size && [...clean.mails.keys()].every((k) => faulty.mails.has(k));
  add(
    'each mail received exactly once (counted at the SMTP server)',
    twice.length === 0 && sameSet && clean.mails.size > 0,
    twice.map(([k, n]) => `${k} ×${n}`).join('; ') ||
      (sameSet ? `${faulty.mails.size} mails, the clean run's` : 'not the clean run’s mails'),
  );
  add(
    'no workflow stuck or failed',
    clean.unfinished.length + faulty.unfinished.length === 0 && faulty.backfill.failed === 0,
    [...clean.unfinished, ...faulty.unfinished].join('; ') ||
      `backfill ${faulty.backfill.done}/${faulty.backfill.total} units`,
  );
  add(
    'the drop folder empty',
    clean.dropLeft.length + faulty.dropLeft.length === 0,
    [...clean.dropLeft, ...faulty.dropLeft].join(', ') || 'only processed/',
  );
  return out;
}

export async function runFaultSuite(opts: {
  profile: FaultProfile;
  seed: number;
  log: (line: string) => void;
  workDir?: string;
  /** Passed on to startFaultStack (the tests hand over their Postgres server and workflow bundle). */
  databaseUrl?: string;
  bundlePath?: string;
}): Promise<SuiteReport> {
  const { profile, seed, log } = opts;
  const config = loadConfig();
  const workDir = opts.workDir ?? path.join(config.homeDir, 'faults');
  const month = suiteMonth(Date.now());
  const asOf = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString();
  const spec = EXAMPLE_SPEC() as { orgs: { id: string }[]; products: { code: string }[] };
  const fuzz = fuzzFiles({
    records: profile.fuzzRecords,
    seed,
    fromMs: month.fromMs,
    toMs: month.toMs,
    orgs: spec.orgs.map((o) => o.id),
    products: spec.products.map((p) => p.code),
  });
  log(`fault suite, profile ${profile.name}, seed ${seed}: ${month.month} backfilled, as of ${asOf}`);
  const stack = await startFaultStack({
    workDir,
    config,
    log,
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    ...(opts.bundlePath ? { bundlePath: opts.bundlePath } : {}),
  });
  try {
    const clean = await runOnce({ name: 'clean', stack, workDir, month, asOf, fuzz, log });
    const days = Math.round((month.toMs - month.fromMs) / 86_400_000);
    const { phases, injected } = faultPhases(profile, seed, days, log);
    const faulty = await runOnce({ name: 'faulty', stack, workDir, month, asOf, fuzz, phases, log });
    const all = checks(clean, faulty);
    const survived = all.every((c) => c.ok);
    const row = (fault: string, planned: number, key: keyof Injected) => ({
      fault,
      planned,
      injected: injected[key],
      survived: survived && injected[key] > 0,
    });
    const faults = [
      row('worker SIGKILL at a random point, restarted', profile.workerKills, 'workerKills'),
      row(
        'Temporal dev server killed mid-backfill, back on its db file (worker running)',
        profile.temporalRestarts,
        'temporalRestarts',
      ),
      row('every Postgres session terminated mid-close', profile.closeCuts, 'closeCuts'),
      row(`SMTP refusing connections (${profile.smtpRefuseMs / 1000} s)`, 1, 'smtpRefused'),
      row(`SMTP answering 451 (${profile.smtpDeferMs / 1000} s)`, 1, 'smtpDeferred'),
      row('every Postgres session terminated while a mail is in flight', 1, 'mailInFlightCuts'),
      {
        fault: `fuzzed records in ${fuzz.length} files (ndjson, csv, tsv, gzip)`,
        planned: profile.fuzzRecords,
        injected: fuzz.reduce((n, f) => n + f.records, 0),
        survived,
      },
    ];
    return {
      ok: survived && faults.every((f) => f.survived),
      profile: profile.name,
      seed,
      faults,
      checks: all,
      seconds: { clean: clean.seconds, faulty: faulty.seconds },
    };
  } finally {
    await stack.close();
  }
}

/** The report as Markdown tables: what was injected, what held. */
export function reportText(r: SuiteReport): string {
  const lines = [
    `profile ${r.profile}, seed ${r.seed}: clean run ${r.seconds.clean.toFixed(0)} s, faulty run ${r.seconds.faulty.toFixed(0)} s`,
    '',
    '| fault | planned | injected | survived |',
    '|---|---:|---:|---|',
    ...r.faults.map(
      (f) =>
        `| ${f.fault} | ${f.planned.toLocaleString('en-US')} | ${f.injected.toLocaleString('en-US')} | ${f.survived ? 'yes' : 'NO'} |`,
    ),
    '',
    '| check | held | detail |',
    '|---|---|---|',
    ...r.checks.map((c) => `| ${c.check} | ${c.ok ? 'yes' : 'NO'} | ${c.detail} |`),
  ];
  return lines.join('\n');
}
