import type { Command } from 'commander';
import { ingestFile } from '../../activities/ingest-file';
import type { IngestResult } from '../../db/ingest';
import { formatFromName, type InputFormat } from '../../infra/record-readers';
import { asOfFrom, withDb } from '../context';
import { terminalSafe } from '../lib/output';

function describe(r: IngestResult): string {
  if (r.duplicate_batch) {
    return `${r.file}: already ingested as batch ${r.batch_id.slice(0, 16)} (${r.accepted} accepted, ${r.quarantined} quarantined then); nothing changed`;
  }
  const reasons = Object.entries(r.quarantined_by_reason)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `${r.file}: ${r.records_read} read, ${r.accepted} accepted, ${r.quarantined} quarantined` +
    (reasons ? ` (${reasons})` : '') +
    (r.replaced_facts ? `, ${r.replaced_facts} earlier facts replaced` : '') +
    ` — batch ${r.batch_id.slice(0, 16)}`
  );
}

export function registerIngest(program: Command): void {
  program
    .command('ingest <files...>')
    .description(
      'load hourly usage from NDJSON, CSV or TSV files ("-" for stdin); bad records go to quarantine',
    )
    .option('--format <format>', 'ndjson | csv | tsv (default: from the file extension)')
    .option('--batch-id <id>', 'idempotency key of the batch (default: the content hash)')
    .option('--replace', 'replace earlier facts for the (org, product, hour) keys this batch carries')
    .option('--as-of <instant>', 'the instant to validate against (retention, future hours); default now')
    .option('--json', 'one JSON object per file on stdout')
    .action(
      async (
        files: string[],
        opts: { format?: string; batchId?: string; replace?: boolean; asOf?: string; json?: boolean },
      ) => {
        if (opts.format && !['ndjson', 'csv', 'tsv'].includes(opts.format)) {
          throw new Error(`--format must be ndjson, csv or tsv, not "${opts.format}"`);
        }
        if (opts.batchId && files.length > 1) throw new Error('--batch-id names one batch: give one file');
        const asOfMs = asOfFrom(opts.asOf);
        await withDb(async (db, config) => {
          for (const file of files) {
            const format = (opts.format as InputFormat | undefined) ?? formatFromName(file);
            if (!format)
              throw new Error(`${file}: cannot tell the format from the name; pass --format ndjson|csv|tsv`);
            const r = await ingestFile(db, {
              path: file,
              format,
              asOfMs,
              retentionDays: config.retentionDays,
              batchId: opts.batchId,
              replace: opts.replace,
            });
            console.log(opts.json ? JSON.stringify(r) : terminalSafe(describe(r)));
          }
        });
      },
    );
}
