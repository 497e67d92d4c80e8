import fs from 'node:fs';
import type { Knex } from 'knex';
import { ingestBatch, type IngestResult } from '../db/ingest';
import { ErrorType, OrgtallyError } from '../domain/errors';
import type { InputFormat } from '../infra/record-readers';

export type FileIngestResult = IngestResult;

/** Opens a file (or stdin for "-") and ingests it as one batch; an unreadable file is a clear, permanent error. */
export async function ingestFile(
  db: Knex,
  input: {
    path: string;
    format: InputFormat;
    asOfMs: number;
    retentionDays: number;
    batchId?: string;
    replace?: boolean;
  },
): Promise<FileIngestResult> {
  let stream: NodeJS.ReadableStream & import('node:stream').Readable;
  if (input.path === '-') {
    stream = process.stdin;
  } else {
    // Opened here, synchronously: once open, the file can be moved (another drop-folder run) and is still read
    // whole; checking then opening later left a window in which the open failed outside this error handling.
    let fd: number;
    try {
      const st = fs.statSync(input.path);
      if (!st.isFile()) throw new Error('not a regular file');
      fd = fs.openSync(input.path, 'r');
    } catch (err) {
      throw new OrgtallyError(
        ErrorType.UnreadableInput,
        `cannot read ${input.path}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    stream = fs.createReadStream(input.path, { fd, highWaterMark: 1 << 20 });
  }
  return ingestBatch(db, {
    source: input.path,
    stream,
    format: input.format,
    asOfMs: input.asOfMs,
    retentionDays: input.retentionDays,
    batchId: input.batchId,
    replace: input.replace,
  });
}
