import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../infra/config';

/** How hard the suite pushes: the short profile runs in CI, the long one by hand (`npm run faults -- --long`). */
export interface FaultProfile {
  name: 'short' | 'long';
  fuzzRecords: number;
  /** Worker SIGKILLs (restarted each time): about a quarter while the drop folder loads, the rest in the backfill. */
  workerKills: number;
  /** The dev server killed and brought back on its db file, mid-backfill, with the worker running. */
  temporalRestarts: number;
  /** Every session of the run's database terminated while the close runs. */
  closeCuts: number;
  /** SMTP refusing connections, then answering 4xx, for this long each once the mails are due. */
  smtpRefuseMs: number;
  smtpDeferMs: number;
}

export const PROFILES: Record<FaultProfile['name'], FaultProfile> = {
  short: {
    name: 'short',
    fuzzRecords: 20_000,
    workerKills: 5,
    temporalRestarts: 1,
    closeCuts: 1,
    smtpRefuseMs: 5_000,
    smtpDeferMs: 5_000,
  },
  long: {
    name: 'long',
    fuzzRecords: 100_000,
    workerKills: 20,
    temporalRestarts: 2,
    closeCuts: 3,
    smtpRefuseMs: 60_000,
    smtpDeferMs: 30_000,
  },
};

/** The account the runs use: the example spec, as the demo applies it. */
export const EXAMPLE_SPEC = (): unknown =>
  JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'examples', 'acme.json'), 'utf8'));
