import fs from 'node:fs';
import { exportDay } from '../db/attribution-files';
import { createDb } from '../infra/db';

/**
 * The rss line's child process (`node -r tsx/cjs bench/rss-export.ts <database url> <account> <day> <output dir>`):
 * like a worker running the exportDay activity, it has the database pool and the export code loaded, then writes
 * one day's TSVs (db/attribution-files.ts exportDay, the activity's body). Its resident memory is sampled every
 * 50 ms; at the end it prints one JSON line: RSS before the export, the sampled peak, the kernel's high-water mark
 * (VmHWM, before and after), the export's time, rows and bytes.
 */
const MIB = 2 ** 20;

function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? (Number(m[1]) * 1024) / MIB : Number.NaN;
}

async function main(): Promise<void> {
  const [url, accountId, day, outputDir] = process.argv.slice(2);
  if (!url || !accountId || !day || !outputDir)
    throw new Error('usage: rss-export <url> <account> <day> <dir>');
  const db = createDb(url, { max: 2 });
  try {
    await db.raw('SELECT 1');
    const baseline = process.memoryUsage().rss / MIB;
    const hwmBefore = vmHwm();
    let peak = baseline;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss / MIB);
    }, 50);
    const t = process.hrtime.bigint();
    const files = await exportDay(db, { accountId, day, outputDir });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss / MIB);
    process.stdout.write(
      `${JSON.stringify({
        baseline_mib: baseline,
        peak_mib: peak,
        hwm_before_mib: hwmBefore,
        hwm_mib: vmHwm(),
        heap_used_mib: process.memoryUsage().heapUsed / MIB,
        ms,
        files: files.length,
        rows: files.reduce((n, f) => n + f.rows, 0),
        bytes: files.reduce((n, f) => n + f.bytes, 0),
      })}\n`,
    );
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
