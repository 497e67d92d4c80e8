import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities, DropFileResult } from '../activities';
import { NON_RETRYABLE } from '../domain/errors';

const { listDropFolder } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// Ingest streams a whole file inside one transaction: long timeout, heartbeats to notice a dead worker early.
const { ingestDropFile } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '5 seconds',
    maximumInterval: '5 minutes',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

export interface IngestDropFolderInput {
  /** ISO instant the run computes for; default: the run's start time (set by the schedule or the script). */
  asOf?: string;
}

export interface IngestDropFolderResult {
  asOf: string;
  files: DropFileResult[];
  accepted: number;
  quarantined: number;
  duplicates: number;
  failed: number;
}

/** Ingests every file waiting in the drop folder, one after another (each file is one transaction). */
export async function ingestDropFolder(input: IngestDropFolderInput = {}): Promise<IngestDropFolderResult> {
  const asOfMs = input.asOf !== undefined ? Date.parse(input.asOf) : workflowInfo().runStartTime.getTime();
  const names = await listDropFolder();
  const files: DropFileResult[] = [];
  for (const name of names) files.push(await ingestDropFile({ name, asOfMs }));
  const processed = files.flatMap((f) => (f.outcome === 'processed' ? [f] : []));
  return {
    asOf: new Date(asOfMs).toISOString(),
    files,
    accepted: processed.reduce((n, f) => n + (f.duplicate_batch ? 0 : f.accepted), 0),
    quarantined: processed.reduce((n, f) => n + (f.duplicate_batch ? 0 : f.quarantined), 0),
    duplicates: processed.filter((f) => f.duplicate_batch).length,
    failed: files.filter((f) => f.outcome === 'failed').length,
  };
}
