import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { ddTags } from '../api/routes/attribution';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../api/server';
import { addUser, removeUser } from '../db/access';
import { createKey } from '../db/keys';
import { closeMonth } from '../db/month-end';
import type { Cell } from '../domain/attribution';
import { datadogName } from '../domain/datadog-names';
import { PROJECT_ROOT } from '../infra/config';
import type { LoadOptions, LoadReport } from './api-load';
import { median, postgresCpu, postmasterPid, timeIt, type BenchLine } from './lib';
import type { MonthEndData } from './month-end';

/**
 * The HTTP API under load: requests/s and p50/p99 latency of two read endpoints over loopback (autocannon in a
 * process of its own), each against its floor — the SQL a user would write for the same rows, run through a pg
 * Pool with as many concurrent loops as autocannon has connections, for as long. Data: the month-end line's closed
 * month (2026-10 of `bench-month`).
 */
export interface ApiScale {
  /** autocannon's connections, and the floor's concurrent loops. */
  connections: number;
  /** About how long a measured run lasts (its requests are counted from the warm-up's rate). */
  durationS: number;
  warmupS: number;
}

/** Aims of the issue: API throughput within 1.5× of the direct query's; the billable summary's p99 under 50 ms. */
const MIN_THROUGHPUT_RATIO = 1 / 1.5;
const MAX_P99_MS = 50;
const PAGE = 5000;
/** Requests each connection sends in a measured run, at least. */
const ROUNDS = 3;
const USER = 'bench-api@bench.example';

interface Figures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** CPU seconds during the measured run, per process: the bench (server or direct loops), Postgres, autocannon. */
  cpu: { node: number; postgres?: number; load?: number };
  seconds: number;
}

/** One endpoint: its request, its floor, and the keys that show both return the same rows. */
interface Endpoint {
  name: string;
  path: string;
  sql: string;
  params: unknown[];
  /** The response's rows, one key each, in the response's order. */
  apiKeys(body: unknown): string[];
  floorKeys(rows: Record<string, unknown>[]): string[];
  /** The billable summary's rows are org × product; compare as sets (the API groups them by org). */
  ordered: boolean;
}

/** The latest version of the month: both floors read it as the API does (a restated month has several). */
const LATEST = `WITH v AS (SELECT version, hours FROM month_end_versions
                  WHERE account_id = $1 AND month = $2::date ORDER BY version DESC LIMIT 1)`;

function endpoints(data: MonthEndData, codes: string[]): Endpoint[] {
  const first = `${data.month}-01`;
  // The products pivoted into columns, as the API's `fields=*` has them: usage and share of the org per product.
  const pivot = codes
    .map(
      (_, i) =>
        `sum(t.total_usage) FILTER (WHERE t.usage_type = $${i + 3}) AS u${i},
         sum(t.percentage_in_org) FILTER (WHERE t.usage_type = $${i + 3}) AS p${i}`,
    )
    .join(',\n');
  return [
    {
      name: 'billable summary',
      path: `/api/v1/usage/billable-summary?month=${data.month}`,
      sql: `${LATEST}
        SELECT o.public_id, o.org_name, o.usage_type, o.billable_usage, o.percentage_in_account, t.unit,
               t.billable_usage AS account_billable, t.committed_usage AS account_committed,
               t.on_demand_usage AS account_on_demand, v.hours
          FROM v
          JOIN month_end_orgs o ON o.account_id = $1 AND o.month = $2::date AND o.version = v.version
          JOIN month_end_totals t ON t.account_id = o.account_id AND t.month = o.month AND t.version = o.version
                                 AND t.usage_type = o.usage_type
         ORDER BY o.public_id COLLATE "C", o.usage_type COLLATE "C"`,
      params: [data.accountId, first],
      apiKeys: (body) =>
        (body as { usage: { public_id: string; usage: Record<string, unknown> }[] }).usage.flatMap((u) =>
          Object.keys(u.usage).map((k) => `${u.public_id} ${k}`),
        ),
      floorKeys: (rows) => rows.map((r) => `${String(r.public_id)} ${datadogName(String(r.usage_type))}`),
      ordered: false,
    },
    {
      name: 'monthly attribution',
      path: `/api/v1/usage/monthly-attribution?start_month=${data.month}&end_month=${data.month}&fields=*`,
      // The API's default order: public_id descending, then the tag combination.
      sql: `${LATEST}
        SELECT t.public_id, o.name AS org_name, t.cells, ${pivot}
          FROM month_end_tags t
          JOIN v ON v.version = t.version
          JOIN orgs o ON o.account_id = t.account_id AND o.public_id = t.public_id
         WHERE t.account_id = $1 AND t.month = $2::date
         GROUP BY t.public_id, o.name, t.cells
         ORDER BY t.public_id COLLATE "C" DESC, t.cells COLLATE "C"
         LIMIT ${PAGE}`,
      params: [data.accountId, first, ...codes],
      apiKeys: (body) =>
        (body as { usage: { public_id: string; tags: unknown }[] }).usage.map(
          (u) => `${u.public_id} ${JSON.stringify(u.tags)}`,
        ),
      floorKeys: (rows) =>
        rows.map((r) => `${String(r.public_id)} ${JSON.stringify(ddTags(data.tagKeys, r.cells as Cell[]))}`),
      ordered: true,
    },
  ];
}

/** autocannon in a child process (bench/api-load.ts); fails on any non-2xx response or connection error. */
function loadInChild(o: LoadOptions): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'tsx/cjs', path.join(PROJECT_ROOT, 'bench', 'api-load.ts')],
      {
        cwd: PROJECT_ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`api-load exited ${code}: ${err.trim()}`));
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '') as LoadReport;
        if (r.non2xx || r.errors || r.timeouts)
          return reject(
            new Error(`${o.url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`),
          );
        resolve(r);
      } catch (e) {
        reject(new Error(`api-load printed no report: ${out} ${err}`, { cause: e }));
      }
    });
    child.stdin.end(JSON.stringify(o));
  });
}

/** q-quantile of sorted values, nearest rank (what HDR histograms report too). */
const quantile = (sorted: number[], q: number) =>
  sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN;

/** `connections` loops, each awaiting its query and starting the next, until `ms` have passed. */
async function loops(pool: pg.Pool, e: Endpoint, connections: number, ms: number, lat?: number[]) {
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await pool.query(e.sql, e.params);
        lat?.push(performance.now() - t);
      }
    }),
  );
}

const nodeCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function direct(pool: pg.Pool, e: Endpoint, s: ApiScale, postmaster?: number): Promise<Figures> {
  await loops(pool, e, s.connections, s.warmupS * 1000);
  const lat: number[] = [];
  const [n0, p0, t0] = [nodeCpu(), postgresCpu(postmaster), performance.now()];
  await loops(pool, e, s.connections, s.durationS * 1000, lat);
  const seconds = (performance.now() - t0) / 1000;
  const [n1, p1] = [nodeCpu(), postgresCpu(postmaster)];
  lat.sort((a, b) => a - b);
  return {
    rps: lat.length / seconds,
    p50_ms: quantile(lat, 0.5),
    p99_ms: quantile(lat, 0.99),
    cpu: { node: n1 - n0, postgres: p0 !== undefined && p1 !== undefined ? p1 - p0 : undefined },
    seconds,
  };
}

/** Requests the server is still answering: autocannon drops its connections at the end, not the work on them. */
function inFlight(app: FastifyInstance): () => Promise<void> {
  let busy = 0;
  app.addHook('onRequest', async () => {
    busy += 1;
  });
  // onSend runs once per request whether its client is still there or not (an error's reply included).
  app.addHook('onSend', async (_req, _reply, payload) => {
    busy -= 1;
    return payload;
  });
  return async () => {
    while (busy > 0) await new Promise((r) => setTimeout(r, 20));
  };
}

/**
 * A warm-up run of `warmupS`, then the measured one, each started on an idle server. The measured run sends what
 * the warm-up's rate gets through in `durationS`, and at least ROUNDS requests per connection (a slow endpoint's
 * warm-up may finish none; its latency under load needs more than each connection's first request).
 */
async function viaApi(
  load: LoadOptions,
  s: ApiScale,
  drained: () => Promise<void>,
  postmaster?: number,
): Promise<Figures & { requests: number }> {
  const warm = await loadInChild({ ...load, durationS: s.warmupS });
  await drained();
  const amount = Math.max(ROUNDS * s.connections, Math.ceil(s.durationS * warm.rps));
  const [n0, p0] = [nodeCpu(), postgresCpu(postmaster)];
  const r = await loadInChild({ ...load, amount });
  const [n1, p1] = [nodeCpu(), postgresCpu(postmaster)];
  await drained();
  if (r.requests !== amount) throw new Error(`${load.url}: ${r.requests} responses of ${amount} requests`);
  return {
    rps: r.rps,
    p50_ms: r.p50_ms,
    p99_ms: r.p99_ms,
    cpu: {
      node: n1 - n0,
      postgres: p0 !== undefined && p1 !== undefined ? p1 - p0 : undefined,
      load: r.cpu_s,
    },
    seconds: r.seconds,
    requests: amount,
  };
}

const cores = (f: Figures) =>
  `CPU cores: node ${(f.cpu.node / f.seconds).toFixed(2)}, Postgres ${f.cpu.postgres === undefined ? '?' : (f.cpu.postgres / f.seconds).toFixed(2)}` +
  (f.cpu.load === undefined ? '' : `, autocannon ${(f.cpu.load / f.seconds).toFixed(2)}`);

/** One request at a time, median of 3 (after the check's request): the latency no queueing adds to. */
async function aloneMs(base: string, headers: Record<string, string>, pool: pg.Pool, e: Endpoint) {
  const api: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < 3; i++) {
    api.push(await timeIt(async () => (await fetch(base + e.path, { headers })).arrayBuffer()));
    floor.push(await timeIt(() => pool.query(e.sql, e.params)));
  }
  return { api: median(api), direct: median(floor) };
}

/** Same rows from the API's first page and the floor, or the bench fails: a floor of other rows is no floor. */
async function sameRows(base: string, headers: Record<string, string>, pool: pg.Pool, e: Endpoint) {
  const res = await fetch(base + e.path, { headers });
  if (res.status !== 200) throw new Error(`${e.name}: HTTP ${res.status}: ${await res.text()}`);
  const bytes = (await res.clone().arrayBuffer()).byteLength;
  const api = e.apiKeys(await res.json());
  const floor = e.floorKeys((await pool.query(e.sql, e.params)).rows);
  const norm = (k: string[]) => (e.ordered ? k : [...k].sort()).join('\n');
  if (norm(api) !== norm(floor))
    throw new Error(`${e.name}: the floor's ${floor.length} rows are not the API's ${api.length}`);
  return { rows: api.length, bytes };
}

/**
 * Both endpoints, `runs` times each way (API, then floor), medians. Closes the month first unless the month-end
 * line left it closed; adds an admin of the root org with a key for the run, removed afterwards.
 */
export async function benchApi(
  db: Knex,
  url: string,
  data: MonthEndData,
  s: ApiScale,
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine[]> {
  const month = { account_id: data.accountId, month: `${data.month}-01` };
  if (!(await db('month_end_versions').where(month).first('version')))
    await closeMonth(db, { accountId: data.accountId, month: data.month, asOf: data.asOf });
  const actor = 'bench:api';
  const key = await db.transaction(async (trx) => {
    await addUser(trx, {
      accountId: data.accountId,
      email: USER,
      org: data.accountId,
      roles: ['admin'],
      actor,
    });
    return createKey(trx, { accountId: data.accountId, email: USER, name: 'bench', actor });
  });
  const headers = { 'DD-API-KEY': key.api_key, 'DD-APPLICATION-KEY': key.application_key };
  // The steady state autovacuum reaches within a minute: without statistics on the freshly written month the
  // planner takes every table for one row and nests loops (3–5× slower at small for the API and the floor alike).
  await db.raw(
    'ANALYZE month_end_versions, month_end_totals, month_end_orgs, month_end_tags, api_keys, users',
  );
  const codes = (await db('products')
    .where({ account_id: data.accountId })
    .orderBy('code')
    .pluck('code')) as string[];
  const app = await buildServer({ db, rateLimit: { limit: 10_000_000, periodSeconds: 60 }, logger: false });
  const drained = inFlight(app);
  const pool = new pg.Pool({ connectionString: url, max: s.connections, options: '-c TimeZone=UTC' });
  const postmaster = await postmasterPid(db);
  const lines: BenchLine[] = [];
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    for (const e of endpoints(data, codes)) {
      const { rows, bytes } = await sameRows(base, headers, pool, e);
      const alone = await aloneMs(base, headers, pool, e);
      opts.log(
        `  ${e.name}: ${rows.toLocaleString('en-US')} rows, ${(bytes / 2 ** 20).toFixed(2)} MiB; one request alone: ` +
          `API ${alone.api.toFixed(1)} ms, direct ${alone.direct.toFixed(1)} ms`,
      );
      const apiRuns: Figures[] = [];
      const floorRuns: Figures[] = [];
      for (let i = 0; i < opts.runs; i++) {
        const load = { url: base + e.path, headers, connections: s.connections, durationS: s.durationS };
        const a = await viaApi(load, s, drained, postmaster);
        apiRuns.push(a);
        // The floor for as long as the API's run took.
        const f = await direct(pool, e, { ...s, durationS: a.seconds }, postmaster);
        floorRuns.push(f);
        opts.log(
          `  ${e.name} run ${i + 1}: API ${a.requests} requests in ${a.seconds.toFixed(1)} s, ${a.rps.toFixed(1)} req/s, p50 ${a.p50_ms} ms, p99 ${a.p99_ms} ms (${cores(a)}); ` +
            `direct ${f.rps.toFixed(1)} q/s, p50 ${f.p50_ms.toFixed(1)} ms, p99 ${f.p99_ms.toFixed(1)} ms (${cores(f)})`,
        );
      }
      const med = (xs: Figures[], k: 'rps' | 'p50_ms' | 'p99_ms') => median(xs.map((x) => x[k]));
      const api = {
        rps: med(apiRuns, 'rps'),
        p50_ms: med(apiRuns, 'p50_ms'),
        p99_ms: med(apiRuns, 'p99_ms'),
      };
      const floor = {
        rps: med(floorRuns, 'rps'),
        p50_ms: med(floorRuns, 'p50_ms'),
        p99_ms: med(floorRuns, 'p99_ms'),
      };
      const ratio = api.rps / floor.rps;
      const aims = {
        throughput: ratio >= MIN_THROUGHPUT_RATIO,
        p99: e.name === 'billable summary' ? api.p99_ms < MAX_P99_MS : undefined,
      };
      lines.push({
        path: `api ${e.name} (${rows.toLocaleString('en-US')} rows)`,
        rows,
        unit: 'req/s',
        figure: api.rps,
        floor: floor.rps,
        ratio,
        rows_per_s: Math.round(rows * api.rps),
        runs: apiRuns.map((r) => r.rps),
        floor_runs: floorRuns.map((r) => r.rps),
        details: {
          endpoint: e.path,
          response_bytes: bytes,
          ...s,
          alone_ms: alone,
          api,
          direct: floor,
          aims,
          apiRuns,
          floorRuns,
        },
      });
    }
  } finally {
    await app.close();
    await pool.end();
    await db.transaction((trx) => removeUser(trx, { accountId: data.accountId, email: USER, actor }));
  }
  return lines;
}
