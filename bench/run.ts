import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDatabase, migrateLatest } from '../db/migrate';
import { loadConfig, PROJECT_ROOT } from '../infra/config';
import { createDb } from '../infra/db';
import { startEmbeddedPostgres, stopEmbeddedPostgres } from '../infra/embedded-postgres';
import { freePort } from '../infra/process';
import { benchApi } from './api';
import { benchConsole } from './console';
import { benchShared } from './shared';
import { benchAttribution, benchDuckdb, loadAttributionData } from './attribution';
import { benchIngest } from './ingest';
import { machine, type BenchLine } from './lib';
import { benchMonthEnd, loadMonthEndData, type MonthEndData } from './month-end';
import { benchEstimates, loadEstimatesData } from './estimates';
import { benchTrends, loadTrendsData } from './trends';
import { benchBackfill } from './backfill';
import { benchRss } from './rss';
import { benchGrowth, type GrowthPoint } from './growth';

/**
 * attribution: one day of one account, orgs × products × 24 hours × tag sets facts. monthEnd: one attributed month
 * (2026-10, 744 h) of one account, orgs × 20 products × 744 hourly rows (small 744 000, medium 14 880 000, large
 * 29 760 000), each org and product spread over `cells` tag combinations of `tagKeys` keys. estimates: one account
 * of orgs × 20 products, 18 days of rollups, 15 days of the month elapsed. backfill: the sample account
 * (examples/acme.json, the demo's sample usage), 180 days and their 6 months: as it is at small (1 run) and
 * medium (3 runs), with 10 copies of its client orgs at large (days 10× as large). rss: exportDay of one attribution day of `orgs[0]` and of 4× as many orgs.
 * api: the month-end line's month; each endpoint under `connections` after a warm-up of `warmupS`, for about
 * `durationS` (a count of requests fixed from the warm-up's rate, at least 3 per connection; bench/api.ts).
 * console: the Usage page of the month-end line's month (medium: 1 000 orgs × 20 products), 50 renders a run.
 * shared: one child org's shared dashboard of that month and the neutral page of each failing link, 50 a run.
 */
const SCALES = {
  small: {
    ingest: { orgs: 100, products: 10, tagSets: 10, hours: 10 },
    attribution: { orgs: 100, products: 10, tagSets: 10 },
    monthEnd: { orgs: 50, tagKeys: 3, cells: 4 },
    trendsOrgs: 100,
    estimates: { orgs: 100, products: 20 },
    backfill: { days: 180, runs: 1 },
    growth: { attributionOrgs: 15, monthEndOrgs: 4, rollupOrgs: 15, factors: [1, 4, 16], runs: 1 },
    rss: { orgs: [50, 200], products: 10, tagSets: 10 },
    api: { connections: 10, durationS: 5, warmupS: 1 },
    runs: 3,
  },
  medium: {
    ingest: { orgs: 1_000, products: 20, tagSets: 10, hours: 24 },
    attribution: { orgs: 1_000, products: 20, tagSets: 10 },
    monthEnd: { orgs: 1_000, tagKeys: 3, cells: 4 },
    trendsOrgs: 1_000,
    estimates: { orgs: 1_000, products: 20 },
    backfill: { days: 180, runs: 3 },
    growth: { attributionOrgs: 60, monthEndOrgs: 16, rollupOrgs: 60, factors: [1, 4, 16], runs: 1 },
    rss: { orgs: [250, 1_000], products: 20, tagSets: 10 },
    api: { connections: 10, durationS: 10, warmupS: 2 },
    runs: 3,
  },
  large: {
    ingest: { orgs: 2_000, products: 20, tagSets: 10, hours: 24 },
    attribution: { orgs: 2_000, products: 20, tagSets: 10 },
    monthEnd: { orgs: 2_000, tagKeys: 3, cells: 4 },
    trendsOrgs: 2_000,
    estimates: { orgs: 2_000, products: 20 },
    backfill: { days: 180, runs: 3, orgCopies: 10 },
    growth: { attributionOrgs: 120, monthEndOrgs: 32, rollupOrgs: 120, factors: [1, 4, 16], runs: 1 },
    rss: { orgs: [500, 2_000], products: 20, tagSets: 10 },
    api: { connections: 10, durationS: 10, warmupS: 2 },
    runs: 3,
  },
} as const;

const LINES = [
  'ingest',
  'attribution',
  'rss',
  'month-end',
  'api',
  'console',
  'shared',
  'trends',
  'estimates',
  'backfill',
  'growth',
] as const;
type LineName = (typeof LINES)[number];

/**
 * `npm run bench [-- --scale small|medium|large] [--only ingest,attribution,rss,month-end,api,console,shared,trends,estimates,backfill,growth]`:
 * each hot path next
 * to its physical floor, on the same Postgres and data, several runs, median. Uses a scratch database `orgtally_bench`
 * (DATABASE_URL's server, else an embedded Postgres of its own). Writes a Markdown table and JSON under out/bench/.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: 'small' },
      only: { type: 'string', default: LINES.join(',') },
    },
  });
  if (!Object.hasOwn(SCALES, values.scale)) {
    throw new Error(`--scale must be one of ${Object.keys(SCALES).join(', ')}`);
  }
  const name = values.scale as keyof typeof SCALES;
  const scale = SCALES[name];
  const only = new Set(values.only.split(',').map((s) => s.trim()));
  const unknown = [...only].filter((l) => !(LINES as readonly string[]).includes(l));
  if (unknown.length) throw new Error(`--only takes ${LINES.join(', ')}; not ${unknown.join(', ')}`);
  const selected = (l: LineName) => only.has(l);
  const config = loadConfig();
  const log = (s: string) => process.stdout.write(`${s}\n`);
  const workDir = path.join(config.outputDir, 'bench');
  fs.mkdirSync(workDir, { recursive: true });
  let url: string;
  let embedded: string | undefined;
  if (config.databaseUrl) {
    const u = new URL(config.databaseUrl);
    u.pathname = '/orgtally_bench';
    url = u.toString();
  } else {
    embedded = path.join(PROJECT_ROOT, '.orgtally', 'bench-pg');
    url = startEmbeddedPostgres({ baseDir: embedded, port: await freePort(), log }).url.replace(
      /\/orgtally$/,
      '/orgtally_bench',
    );
  }
  try {
    await ensureDatabase(url);
    const db = createDb(url);
    try {
      await migrateLatest(db);
      const m = await machine(db);
      log(`scale ${name}; ${JSON.stringify(m)}`);
      const lines: BenchLine[] = [];
      if (selected('ingest')) {
        lines.push(...(await benchIngest(db, { ...scale.ingest, runs: scale.runs, workDir, log })));
      }
      // attribution: one day of facts, loaded set-based after the ingest line's data is gone; the task's floor
      // and the DuckDB reference on the same rows.
      if (selected('attribution')) {
        const data = await loadAttributionData(db, scale.attribution, log);
        const line = await benchAttribution(db, data, { runs: scale.runs, workDir, log });
        lines.push(line, await benchDuckdb(db, data, line, { runs: scale.runs, workDir, log }));
      }
      // rss loads its own two days (truncating the attribution tables): after the two lines above.
      if (selected('rss')) {
        const r = scale.rss;
        lines.push(
          await benchRss(db, url, { ...r, orgs: [r.orgs[0], r.orgs[1]] }, { runs: scale.runs, workDir, log }),
        );
      }
      // month-end last: its loader truncates the attribution tables the two lines above use.
      // api reads the month month-end closed (it closes it itself when month-end is not selected).
      let month: MonthEndData | undefined;
      if (selected('month-end') || selected('api') || selected('console') || selected('shared'))
        month = await loadMonthEndData(db, scale.monthEnd, log);
      if (month && selected('month-end'))
        lines.push(await benchMonthEnd(db, month, { runs: scale.runs, log }));
      if (month && selected('api'))
        lines.push(...(await benchApi(db, url, month, scale.api, { runs: scale.runs, log })));
      if (month && selected('console'))
        lines.push(
          await benchConsole(db, url, month, { requests: 50, warmup: 5 }, { runs: scale.runs, log }),
        );
      if (month && selected('shared'))
        lines.push(
          ...(await benchShared(db, url, month, { requests: 50, warmup: 5 }, { runs: scale.runs, log })),
        );
      if (selected('trends')) {
        const t = await loadTrendsData(db, { orgs: scale.trendsOrgs, products: 20 }, log);
        lines.push(await benchTrends(db, t, { runs: scale.runs, log }));
      }
      // estimates last: its loader truncates usage_facts (the attribution lines' facts).
      if (selected('estimates')) {
        const e = await loadEstimatesData(db, scale.estimates, log);
        lines.push(...(await benchEstimates(db, e, { runs: scale.runs, log })));
      }
      // backfill in databases of its own (a template with the sample account, cloned for every run).
      if (selected('backfill'))
        lines.push(await benchBackfill(url, config, scale.backfill, { workDir, log }));
      // growth last: it loads each path's data three times over (1×, 4×, 16× the orgs).
      let growth: GrowthPoint[] = [];
      if (selected('growth')) {
        const g = await benchGrowth(db, scale.growth, { workDir, log });
        lines.push(...g.lines);
        growth = g.points;
      }
      const md = [
        `# orgtally benchmark (${name})`,
        '',
        `Machine: ${m.cores} cores, ${m.memory_gib} GiB, ${m.cpu}; Node ${m.node}; PostgreSQL ${m.postgres}.`,
        '',
        '| path | rows | figure (median) | floor (median) | ratio | rows/s |',
        '|---|---:|---:|---:|---:|---:|',
        ...lines.map((l) => {
          // A line without a floor (evaluateAlerts) has floor 0: a figure only.
          const v = (x: number) =>
            l.unit === 'MiB'
              ? `${x.toFixed(1)} MiB`
              : l.unit === 'req/s'
                ? `${x.toFixed(1)} req/s`
                : `${(x / 1000).toFixed(2)} s`;
          const floor = l.floor > 0 ? v(l.floor) : '—';
          const ratio = l.floor > 0 ? `${l.ratio.toFixed(2)}×` : '—';
          return `| ${l.path} | ${l.rows.toLocaleString('en-US')} | ${v(l.figure)} | ${floor} | ${ratio} | ${l.rows_per_s.toLocaleString('en-US')} |`;
        }),
        '',
        'ratio = figure / floor (1.00× is the floor itself; for ingest, throughput relative to raw COPY = 1 / ratio; — = no floor).',
        'backfill: figure = the backfill workflow through Temporal, floor = the same activities called directly; rows = units',
        '(days + months), rows/s = units/s. rss: peak resident MiB of the process exporting the larger day (figure) and the',
        "day a quarter its size (floor); rows/s = export speed of the larger day. api: figure = the endpoint's requests/s",
        "over loopback, floor = the same rows' SQL straight through pg (queries/s), ratio = API / direct throughput",
        '(higher is better); rows = rows of one response. console: figure = p50 of one Usage page render (in process, one',
        "at a time), floor = p50 of the page's reads written by hand through pg; p99 and the first view in the JSON.",
        ...apiTable(lines),
        ...growthTable(growth),
      ].join('\n');
      fs.writeFileSync(path.join(workDir, `bench-${name}.md`), `${md}\n`);
      fs.writeFileSync(
        path.join(workDir, `bench-${name}.json`),
        JSON.stringify({ scale: name, machine: m, lines, growth }, null, 2),
      );
      log(`\n${md}\n\nwritten to ${path.join(workDir, `bench-${name}.md`)} and .json`);
      await db.raw(
        `TRUNCATE ingest_batches, usage_facts, attribution_cells, attribution_daily, attribution_totals,
           attribution_runs, attribution_pending, month_end_versions, usage_hourly, usage_daily, rollup_batches,
           estimate_runs, alert_runs, alert_states, alert_events CASCADE`,
      );
    } finally {
      await db.destroy();
    }
  } finally {
    if (embedded) stopEmbeddedPostgres(embedded, log);
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});

/** The api lines' latencies and aims, which the common table has no columns for. */
function apiTable(lines: BenchLine[]): string[] {
  const api = lines.filter((l) => l.unit === 'req/s');
  if (!api.length) return [];
  type F = { rps: number; p50_ms: number; p99_ms: number };
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  return [
    '',
    '| endpoint | API req/s | API p50 | API p99 | direct q/s | direct p50 | direct p99 | API / direct | aims |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...api.map((l) => {
      const d = l.details as { api: F; direct: F; aims: { throughput: boolean; p99?: boolean } };
      const aims = [
        `throughput ${d.aims.throughput ? 'holds' : 'missed'} (≥ 0.67)`,
        ...(d.aims.p99 === undefined ? [] : [`p99 ${d.aims.p99 ? 'holds' : 'missed'} (< 50 ms)`]),
      ].join(', ');
      return `| ${l.path} | ${d.api.rps.toFixed(1)} | ${ms(d.api.p50_ms)} | ${ms(d.api.p99_ms)} | ${d.direct.rps.toFixed(1)} | ${ms(d.direct.p50_ms)} | ${ms(d.direct.p99_ms)} | ${l.ratio.toFixed(2)}× | ${aims} |`;
    }),
  ];
}

/** Growth: each path at 1×, 4× and 16× the rows, time per row against the 1× point (1.00 = linear). */
function growthTable(points: GrowthPoint[]): string[] {
  if (!points.length) return [];
  return [
    '',
    '| path | × | rows | figure | floor | ratio | per row vs 1× |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...points.map(
      (p) =>
        `| ${p.path} | ${p.factor} | ${p.rows.toLocaleString('en-US')} | ${(p.ms / 1000).toFixed(2)} s | ${(p.floorMs / 1000).toFixed(2)} s | ${(p.ms / p.floorMs).toFixed(2)}× | ${p.perRowRatio.toFixed(2)} |`,
    ),
  ];
}
