import { DefaultLogger, Runtime } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../infra/config';
import { PROFILES, type FaultProfile } from './profiles';
import { reportText, runFaultSuite } from './suite';

/**
 * `npm run faults [-- --long] [--seed N]`: the fault suite (faults/suite.ts). Prints what it injected and what
 * held, writes the report to out/faults/, and exits non-zero when anything did not hold.
 */
function args(argv: string[]): { profile: FaultProfile; seed: number } {
  let profile: FaultProfile = PROFILES.short;
  let seed = 20261201;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--long') profile = PROFILES.long;
    else if (a === '--short') profile = PROFILES.short;
    else if (a === '--seed') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v)) throw new Error(`--seed needs a whole number, got "${argv[i] ?? ''}"`);
      seed = v;
    } else throw new Error(`unknown option "${a}" (use --short, --long, --seed N)`);
  }
  return { profile, seed };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { profile, seed } = args(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const report = await runFaultSuite({ profile, seed, log });
  const text = reportText(report);
  console.log(text);
  const dir = path.join(loadConfig().outputDir, 'faults');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `faults-${profile.name}.md`), `${text}\n`);
  fs.writeFileSync(path.join(dir, `faults-${profile.name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  if (!report.ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`faults: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
