import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { attributeDay } from '../db/attribution';
import { PROJECT_ROOT } from '../infra/config';
import { loadAttributionData, type AttributionScale } from './attribution';
import { median, type BenchLine } from './lib';

/** Two days of the attribution bench's shape: `orgs[0]` and `orgs[1]` (4×) orgs, the same products and tag sets. */
export interface RssScale {
  orgs: [number, number];
  products: number;
  tagSets: number;
}

interface ChildReport {
  baseline_mib: number;
  peak_mib: number;
  hwm_before_mib: number;
  hwm_mib: number;
  heap_used_mib: number;
  ms: number;
  files: number;
  rows: number;
  bytes: number;
}

/** Runs bench/rss-export.ts in a process of its own and returns what it reports. */
function exportInChild(url: string, accountId: string, day: string, outputDir: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'tsx/cjs', path.join(PROJECT_ROOT, 'bench', 'rss-export.ts'), url, accountId, day, outputDir],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`rss-export exited ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as ChildReport);
      } catch (e) {
        reject(new Error(`rss-export printed no report: ${out} ${err}`, { cause: e }));
      }
    });
  });
}

/**
 * The export's peak: the kernel's high-water mark when the export raised it (exact, whatever the sampling
 * missed), else the sampled peak (start-up, compiling TypeScript, had gone higher before the export began).
 */
const exportPeak = (r: ChildReport) => (r.hwm_mib > r.hwm_before_mib ? r.hwm_mib : r.peak_mib);

/**
 * Peak resident memory of a worker-like process exporting one attributed day (exportDay: one TSV per product,
 * COPY TO streamed to files), at two sizes: the day of `orgs[0]` orgs (floor column) and of `orgs[1]` (figure
 * column). Streaming keeps it flat: target ratio ≤ 1.2. Each run is a new process; medians of `runs`. Truncates
 * the attribution bench's tables (the loader does).
 */
export async function benchRss(
  db: Knex,
  url: string,
  scale: RssScale,
  opts: { runs: number; workDir: string; log: (s: string) => void },
): Promise<BenchLine> {
  const sizes: { orgs: number; rows: number; reports: ChildReport[] }[] = [];
  for (const orgs of scale.orgs) {
    const s: AttributionScale = { orgs, products: scale.products, tagSets: scale.tagSets };
    const data = await loadAttributionData(db, s, opts.log);
    const t0 = Date.now();
    const r = await attributeDay(db, { accountId: data.accountId, day: data.day });
    if (r.hourlyRows !== data.hourlyRows)
      throw new Error(`attributed ${r.hourlyRows} of ${data.hourlyRows} rows`);
    await db.raw('VACUUM ANALYZE attribution_cells, attribution_totals');
    opts.log(
      `  rss: ${data.hourlyRows.toLocaleString('en-US')} hourly rows attributed in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const outputDir = path.join(opts.workDir, 'rss');
    const reports: ChildReport[] = [];
    for (let i = 0; i < opts.runs; i++) {
      fs.rmSync(outputDir, { recursive: true, force: true });
      const rep = await exportInChild(url, data.accountId, data.day, outputDir);
      if (rep.rows !== data.hourlyRows) throw new Error(`exported ${rep.rows} of ${data.hourlyRows} rows`);
      reports.push(rep);
      opts.log(
        `  run ${i + 1}, ${orgs} orgs: export ${rep.ms.toFixed(0)} ms (${rep.files} files, ${(rep.bytes / 2 ** 20).toFixed(0)} MiB), ` +
          `RSS before ${rep.baseline_mib.toFixed(1)} MiB, peak ${exportPeak(rep).toFixed(1)} MiB ` +
          `(sampled ${rep.peak_mib.toFixed(1)}, VmHWM ${rep.hwm_before_mib.toFixed(1)} → ${rep.hwm_mib.toFixed(1)}), heap used ${rep.heap_used_mib.toFixed(1)} MiB`,
      );
    }
    fs.rmSync(outputDir, { recursive: true, force: true });
    sizes.push({ orgs, rows: data.hourlyRows, reports });
  }
  const [small, large] = sizes as [(typeof sizes)[number], (typeof sizes)[number]];
  const runs = large.reports.map(exportPeak);
  const floors = small.reports.map(exportPeak);
  const figure = median(runs);
  const floor = median(floors);
  const exportMs = median(large.reports.map((r) => r.ms));
  return {
    path: `rss (worker peak, exportDay ${large.rows.toLocaleString('en-US')} vs ${small.rows.toLocaleString('en-US')} rows)`,
    rows: large.rows,
    unit: 'MiB',
    figure,
    floor,
    ratio: figure / floor,
    rows_per_s: Math.round(large.rows / (exportMs / 1000)),
    runs,
    floor_runs: floors,
    details: {
      sizes: sizes.map((s) => ({
        orgs: s.orgs,
        products: scale.products,
        tag_sets: scale.tagSets,
        hourly_rows: s.rows,
        export_ms: median(s.reports.map((r) => r.ms)),
        baseline_mib: median(s.reports.map((r) => r.baseline_mib)),
        peak_mib: median(s.reports.map(exportPeak)),
        reports: s.reports,
      })),
    },
  };
}
