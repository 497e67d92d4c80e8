import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Files are written to a temporary name beside their final one and renamed when complete, so a reader never sees
 * half a file. A worker killed mid-write leaves its temporary file behind: the next write of the same file (the
 * retry) removes every temporary file of that name first.
 */
export function tempName(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function removeStaleTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(prefix)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** A folder for output files with the configured mode, also when it was made earlier with another one. */
export function ensureDir(dir: string, mode: number): void {
  fs.mkdirSync(dir, { recursive: true, mode });
  try {
    fs.chmodSync(dir, mode);
  } catch (err) {
    // A folder someone else owns keeps its mode: the files in it still get theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}
