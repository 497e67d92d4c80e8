import { ActivityFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities, DropFileResult } from '../activities';
import { ingestFileOptions, QUICK_READ } from './activity-options';

const { listDropFolder } = proxyActivities<Activities>(QUICK_READ);

/** After this many files in a row could not be loaded, the rest wait for the next run (the database is away). */
const GIVE_UP_AFTER = 3;

export interface IngestDropFolderInput {
  /** ISO instant the run computes for; default: the run's start time (set by the schedule or the script). */
  asOf?: string;
  /** How a file whose load failed for a reason that may pass is retried; default 6 attempts, 5 s doubling to 1 min. */
  retry?: { maximumAttempts: number; initialIntervalMs: number };
}

export interface IngestDropFolderResult {
  asOf: string;
  files: DropFileResult[];
  accepted: number;
  quarantined: number;
  duplicates: number;
  failed: number;
  /** Files left in the folder for the next run (not loaded for a reason that may pass). */
  left: number;
}

/** Ingests every file waiting in the drop folder, one after another (each file is one transaction). */
export async function ingestDropFolder(input: IngestDropFolderInput = {}): Promise<IngestDropFolderResult> {
  const asOfMs = input.asOf !== undefined ? Date.parse(input.asOf) : workflowInfo().runStartTime.getTime();
  const { ingestDropFile } = proxyActivities<Activities>(ingestFileOptions(input.retry));
  const names = await listDropFolder();
  const files: DropFileResult[] = [];
  let inARow = 0;
  for (const name of names) {
    if (inARow >= GIVE_UP_AFTER) {
      files.push({
        name,
        outcome: 'left',
        error: `not tried: the ${GIVE_UP_AFTER} files before it could not be loaded`,
      });
      continue;
    }
    try {
      files.push(await ingestDropFile({ name, asOfMs }));
      inARow = 0;
    } catch (err) {
      // One file that cannot be loaded never stops the files after it.
      if (!(err instanceof ActivityFailure)) throw err;
      files.push({ name, outcome: 'left', error: err.cause?.message ?? err.message });
      inARow++;
    }
  }
  const processed = files.flatMap((f) => (f.outcome === 'processed' ? [f] : []));
  return {
    asOf: new Date(asOfMs).toISOString(),
    files,
    accepted: processed.reduce((n, f) => n + (f.duplicate_batch ? 0 : f.accepted), 0),
    quarantined: processed.reduce((n, f) => n + (f.duplicate_batch ? 0 : f.quarantined), 0),
    duplicates: processed.filter((f) => f.duplicate_batch).length,
    failed: files.filter((f) => f.outcome === 'failed').length,
    left: files.filter((f) => f.outcome === 'left').length,
  };
}
