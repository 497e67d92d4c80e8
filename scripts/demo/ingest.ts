import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DAY_MS } from '../../domain/time';
import type { Client } from '@temporalio/client';
import { workflowIds } from '../../domain/workflow-ids';
import type { IngestDropFolderResult } from '../../workflows/ingest-drop-folder';

import { table } from '../lib/output';
import { badFeedLines, sampleUsage, writeRecords } from '../lib/sample-data';
import { startWorkflow } from '../../client/start';
import { log, step } from './log';

/** Runs ingestDropFolder over the sample files and prints what each file gave. */
export async function ingestPhase(client: Client, taskQueue: string, asOfMs: number): Promise<string> {
  step('Workflow ingestDropFolder (worker in this process)');
  const asOf = new Date(asOfMs).toISOString();
  const workflowId = `${workflowIds.ingestDropFolder(asOf)}/demo-${Date.now()}`;
  const started = Date.now();
  const result: IngestDropFolderResult = await (
    await startWorkflow(client, 'ingestDropFolder', { taskQueue, workflowId, args: [{ asOf }] })
  ).result();
  const secs = (Date.now() - started) / 1000;
  log(`${workflowId} finished in ${secs.toFixed(1)} s`);
  log(
    table(
      result.files.map((f) =>
        f.outcome === 'processed'
          ? {
              file: f.name,
              read: f.records_read,
              accepted: f.accepted,
              quarantined: f.quarantined,
              note: f.duplicate_batch ? 'already ingested: nothing changed' : '',
            }
          : {
              file: f.name,
              note:
                f.outcome === 'failed'
                  ? `failed: ${f.error}`
                  : f.outcome === 'left'
                    ? `left for the next run: ${f.error}`
                    : 'moved by another run',
            },
      ),
      ['file', 'read', 'accepted', 'quarantined', 'note'],
    ),
  );
  log(
    `this run: ${result.accepted.toLocaleString('en-US')} accepted, ${result.quarantined} quarantined, ` +
      `${result.duplicates} duplicate file(s), ${result.failed} failed, ${result.left} left (${Math.round(result.accepted / secs).toLocaleString('en-US')} records/s)`,
  );
  return workflowId;
}

/** Complete past months as one file each, this month's complete days one file each, plus CSV/TSV and bad feeds. */
export async function writeSample(
  dropDir: string,
  asOfMs: number,
): Promise<{ name: string; records: number }[]> {
  const out: { name: string; records: number }[] = [];
  const now = new Date(asOfMs);
  const monthStart = (offset: number) => Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1);
  const put = async (
    name: string,
    fromMs: number,
    toMs: number,
    format: 'ndjson' | 'csv' | 'tsv' = 'ndjson',
  ) => {
    if (toMs <= fromMs) return;
    // The anomalies (a spike, a drop, a stalled org) sit just before asOf, whichever file they fall in.
    const records = sampleUsage({ fromMs, toMs, anomalies: { endMs: asOfMs } });
    out.push({ name, records: await writeRecords(path.join(dropDir, name), records, format) });
  };
  for (let m = -6; m < 0; m++)
    await put(
      `usage_${new Date(monthStart(m)).toISOString().slice(0, 7)}.ndjson`,
      monthStart(m),
      monthStart(m + 1),
    );
  for (let d = monthStart(0); d + DAY_MS <= asOfMs; d += DAY_MS) {
    await put(`usage_${new Date(d).toISOString().slice(0, 10)}.ndjson`, d, d + DAY_MS);
  }
  // A partner feed in CSV and TSV: one extra day of usage for the Asia-Pacific region, tagged env:apac.
  const partnerDay = monthStart(-1) + 14 * DAY_MS;
  const apac = (fmt: 'csv' | 'tsv') =>
    writeRecords(
      path.join(dropDir, `partner_apac.${fmt}`),
      (function* () {
        for (const r of sampleUsage({
          fromMs: partnerDay,
          toMs: partnerDay + DAY_MS,
          seed: fmt === 'csv' ? 7 : 8,
        })) {
          if (r.org === 'client-b') yield { ...r, tags: ['env:apac', `region:${fmt}`] };
        }
      })(),
      fmt,
    );
  // The CSV arrives gzipped, as partners send large feeds: read as it is, one batch with its content.
  const csvRecords = await apac('csv');
  const csv = path.join(dropDir, 'partner_apac.csv');
  fs.writeFileSync(`${csv}.gz.partial`, zlib.gzipSync(fs.readFileSync(csv)));
  fs.renameSync(`${csv}.gz.partial`, `${csv}.gz`);
  fs.rmSync(csv);
  out.push({ name: 'partner_apac.csv.gz', records: csvRecords });
  out.push({ name: 'partner_apac.tsv', records: await apac('tsv') });
  // A careless feed: each of its bad lines once stopped the drop folder (or took the rest of the file with it);
  // now each is one quarantined record and the good lines around it load. Its good lines carry 0 (no figure moves).
  const day = new Date(partnerDay + 10 * 3_600_000).toISOString();
  const careless = [
    'timestamp,org,product,value,tags',
    `${day},client-b,containers,1,"team:core"x`, // text after a closing quote
    `${day},client-b,containers,0,team:core`,
    `${day},client-b,containers,1,te""am:core`, // a quote inside an unquoted field
    `${day},client-b\u0000,containers,1,team:core`, // a NUL byte in the org
    `${day},client-b,containers,1e-24,team:core`, // below the billing scale
    `${day},client-b,containers,${'9'.repeat(40)},team:core`, // above it
    `${day},client-b,containers,0,"team:core,\r\nenv:apac"`, // a quoted line break: one record, two lines
    `${day},client-b,containers,0,team:core`,
  ];
  fs.writeFileSync(path.join(dropDir, 'partner_careless.csv'), `${careless.join('\r')}\n`); // old-Mac line ends
  out.push({ name: 'partner_careless.csv', records: careless.length - 1 });
  const bad = badFeedLines(new Date(asOfMs - DAY_MS + 10 * 3600_000).toISOString());
  fs.writeFileSync(path.join(dropDir, 'bad_records.ndjson'), bad.map((l) => `${l}\n`).join(''));
  out.push({ name: 'bad_records.ndjson', records: bad.length });
  return out;
}
