import path from 'node:path';
import { PROFILES } from '../../faults/profiles';
import { reportText, runFaultSuite } from '../../faults/suite';
import { TEST_HOME } from '../support/paths';

/**
 * `npm run faults` (short profile) as part of the test run: the main job under worker kills, a Temporal restart,
 * cut database sessions, a refusing and deferring mail server and fuzzed input, against a clean run.
 */
describe('the fault suite, short profile', () => {
  it(
    'every fault injected and survived: tables, files, mails and records as in the clean run',
    async () => {
      const template = process.env.ORGTALLY_TEST_TEMPLATE_URL;
      const bundle = process.env.ORGTALLY_TEST_BUNDLE;
      if (!template || !bundle) throw new Error('run through jest (globalSetup)');
      const lines: string[] = [];
      const report = await runFaultSuite({
        profile: PROFILES.short,
        seed: 20261201,
        log: (l) => lines.push(l),
        workDir: path.join(TEST_HOME, 'faults'),
        databaseUrl: template,
        bundlePath: bundle,
      });
      process.stderr.write(`${reportText(report)}\n`);
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.faults.filter((f) => !f.survived)).toEqual([]);
      expect(report.ok).toBe(true);
    },
    20 * 60_000,
  );
});
