import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Knex } from 'knex';
import { ingestBatch, type IngestInput, type IngestResult } from '../db/ingest';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { readRecords, type InputFormat } from '../infra/record-readers';

export type FileIngestResult = IngestResult;

const GZIP_MAGIC = [0x1f, 0x8b];

/** Opens a file for reading now (not later: it may be moved meanwhile); a clear, permanent error if it cannot. */
function openFile(file: string): { fd: number; gzip: boolean } {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(2);
    const n = fs.readSync(fd, head, 0, 2, 0);
    const gzip = /\.gz$/i.test(file) || (n === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]);
    return { fd, gzip };
  } catch (err) {
    throw new OrgtallyError(ErrorType.UnreadableInput, `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The bytes ingest reads: the file (decompressed when gzip, by name or by content) or stdin, hashed as they pass.
 * The hash is of the decompressed content, so a file and its .gz are one batch. A broken gzip stream is a clear
 * "unreadable" error, never a half-loaded batch.
 */
function hashing(): { out: Transform; digest: () => string } {
  const hash = createHash('sha256');
  const out = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  // The reader sees a stream error through its iterator. The source flows while the batch opens its
  // transaction, so an error can come before the reader starts: this listener keeps it from being unhandled.
  out.on('error', () => undefined);
  return { out, digest: () => hash.digest('hex') };
}

function openInput(file: string): { stream: Readable; digest: () => string } {
  const { out, digest } = hashing();
  let source: Readable;
  if (file === '-') {
    source = process.stdin;
  } else {
    const { fd, gzip } = openFile(file);
    const raw = fs.createReadStream(file, { fd, start: 0, highWaterMark: 1 << 20 });
    if (gzip) {
      const gunzip = zlib.createGunzip();
      raw.on('error', (err) => gunzip.destroy(err));
      raw.pipe(gunzip);
      gunzip.on('error', (err) =>
        out.destroy(
          new OrgtallyError(
            ErrorType.UnreadableInput,
            `${file} is not a readable gzip file: ${err.message}`,
            {
              cause: err,
            },
          ),
        ),
      );
      source = gunzip;
    } else {
      source = raw;
    }
  }
  source.on('error', (err) => out.destroy(err));
  source.pipe(out);
  return { stream: out, digest };
}

export type StreamIngestInput = Omit<IngestInput, 'records' | 'contentSha256'> & { stream: Readable };

/** Ingests the bytes of a stream as one batch (tests, the benchmark): read, hashed and loaded as a file is. */
export async function ingestStream(db: Knex, input: StreamIngestInput): Promise<IngestResult> {
  const { stream, ...rest } = input;
  const { out, digest } = hashing();
  stream.on('error', (err) => out.destroy(err));
  stream.pipe(out);
  try {
    return await ingestBatch(db, { ...rest, records: readRecords(out, input.format), contentSha256: digest });
  } finally {
    out.destroy();
    stream.destroy();
  }
}

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
  const { stream, digest } = openInput(input.path);
  try {
    return await ingestBatch(db, {
      source: input.path,
      records: readRecords(stream, input.format),
      contentSha256: digest,
      format: input.format,
      asOfMs: input.asOfMs,
      retentionDays: input.retentionDays,
      batchId: input.batchId,
      replace: input.replace,
    });
  } finally {
    if (input.path !== '-') stream.destroy();
  }
}
