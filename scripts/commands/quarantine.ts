import type { Command } from 'commander';
import { quarantineRecords } from '../../queries/quarantine';
import { withDb } from '../context';
import { positiveInt } from '../lib/options';
import { table } from '../lib/output';

export function registerQuarantine(program: Command): void {
  program
    .command('quarantine')
    .description('records that were not accepted')
    .command('list')
    .description('list quarantined records with file, line, reason and raw text, newest first')
    .option('--reason <code>', 'only this reason code')
    .option('--file <file>', 'only records from this file')
    .option('--limit <n>', 'at most n rows', '50')
    .option('--json', 'JSON lines')
    .action(async (opts: { reason?: string; file?: string; limit: string; json?: boolean }) => {
      const limit = positiveInt(opts.limit, '--limit');
      const { total, rows } = await withDb((db) =>
        quarantineRecords(db, { reason: opts.reason, file: opts.file, limit }),
      );
      if (opts.json) {
        for (const r of rows) console.log(JSON.stringify(r));
        return;
      }
      console.log(
        table(
          rows.map((r) => ({ ...r, raw: r.raw.length > 60 ? `${r.raw.slice(0, 57)}...` : r.raw })),
          ['file', 'line', 'reason', 'detail', 'raw'],
        ),
      );
      console.log(`${rows.length} of ${total} quarantined record(s)`);
    });
}
