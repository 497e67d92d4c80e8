import { ApplicationFailure, Context } from '@temporalio/activity';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { ensureDir } from '../db/files';
import type { FileModes } from '../domain/file-modes';
import { ingestFile, type FileIngestResult } from './ingest-file';
import { formatFromName } from '../infra/record-readers';

export interface DropFolderDeps {
  db: Knex;
  dropDir: string;
  retentionDays: number;
  fileModes: FileModes;
}

export interface DropFileInput {
  name: string;
  asOfMs: number;
}

export type DropFileResult =
  | ({ name: string; outcome: 'processed'; movedTo: string } & FileIngestResult)
  | { name: string; outcome: 'failed'; movedTo: string; error: string }
  | { name: string; outcome: 'gone' }
  /** Not loaded for a reason that may pass (database unreachable): left in the folder for the next run. */
  | { name: string; outcome: 'left'; error: string };

/** Failures that are the file's own: it goes to failed/ with its reason, and the folder goes on. */
const FILE_FAILURES: string[] = [ErrorType.UnreadableInput, ErrorType.LoadFailed];

/** Names of files still being written (uploads in progress): never picked up, whatever their content so far. */
const IN_PROGRESS = /^\.|\.(partial|part|tmp)$/i;

/**
 * Files waiting in the drop folder (top level only; processed/ and failed/ are ours), oldest name first. A file
 * being written is skipped until it is renamed to its final name (`x.ndjson.partial` → `x.ndjson`).
 */
export function listDropFolder(deps: DropFolderDeps): () => Promise<string[]> {
  return async () => {
    fs.mkdirSync(deps.dropDir, { recursive: true });
    return fs
      .readdirSync(deps.dropDir, { withFileTypes: true })
      .filter((e) => e.isFile() && !IN_PROGRESS.test(e.name))
      .map((e) => e.name)
      .sort();
  };
}

/** Moves a file into processed/ or failed/, never over another file; a concurrent mover may have won. */
function moveInto(
  dropDir: string,
  sub: 'processed' | 'failed',
  name: string,
  tag: string,
  modes: FileModes,
): string | undefined {
  const dir = path.join(dropDir, sub);
  ensureDir(dir, modes.dir);
  let target = path.join(dir, name);
  if (fs.existsSync(target)) target = path.join(dir, `${name}.${tag}`);
  try {
    fs.renameSync(path.join(dropDir, name), target);
    return target;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Ingests one dropped file through the same code path as `orgtally ingest`, then moves it. Safe to run twice at
 * once or after a crash: the batch is keyed by content, so a second ingest is a no-op; a file already moved by
 * another run is reported as gone.
 */
export function ingestDropFile(deps: DropFolderDeps): (input: DropFileInput) => Promise<DropFileResult> {
  return async ({ name, asOfMs }) => {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) {
      throw ApplicationFailure.nonRetryable(`not a drop-folder file name: ${name}`, ErrorType.InvalidInput);
    }
    const file = path.join(deps.dropDir, name);
    if (!fs.existsSync(file)) return { name, outcome: 'gone' };
    const stamp = new Date(asOfMs).toISOString().replace(/[:.]/g, '');
    const format = formatFromName(name);
    try {
      if (!format)
        throw new OrgtallyError(
          ErrorType.UnreadableInput,
          `unknown file type: ${name} (.ndjson, .csv or .tsv)`,
        );
      const heartbeat = setInterval(() => Context.current().heartbeat(), 5000);
      let result: FileIngestResult;
      try {
        result = await ingestFile(deps.db, { path: file, format, asOfMs, retentionDays: deps.retentionDays });
      } finally {
        clearInterval(heartbeat);
      }
      const movedTo = moveInto(deps.dropDir, 'processed', name, result.batch_id.slice(0, 12), deps.fileModes);
      if (movedTo) return { name, outcome: 'processed', movedTo, ...result };
      // A concurrent run moved it meanwhile. When this run is the one that loaded it, it is still this run's
      // file to report (the other run only found a duplicate batch): where the other run put it.
      if (result.duplicate_batch) return { name, outcome: 'gone' };
      const processed = path.join(deps.dropDir, 'processed');
      const where = fs.readdirSync(processed).find((f) => f === name || f.startsWith(`${name}.`));
      return { name, outcome: 'processed', movedTo: path.join(processed, where ?? name), ...result };
    } catch (err) {
      if (!(err instanceof OrgtallyError) || !FILE_FAILURES.includes(err.type)) throw err;
      const movedTo = moveInto(deps.dropDir, 'failed', name, stamp, deps.fileModes);
      if (!movedTo) return { name, outcome: 'gone' };
      fs.writeFileSync(`${movedTo}.error.txt`, `${err.message}\n`, { mode: deps.fileModes.file });
      return { name, outcome: 'failed', movedTo, error: err.message };
    }
  };
}
