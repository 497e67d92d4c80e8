import type { Knex } from 'knex';
import pg from 'pg';
import { buildServer } from '../api/server';
import { clearChartCache } from '../web/chart';
import { addUser } from '../db/access';
import { closeMonth } from '../db/month-end';
import { createSession } from '../db/sessions';
import { computeTrends } from '../db/trends';
import { benchLine, median, percentile as pct, type BenchLine } from './lib';
import type { MonthEndData } from './month-end';

/**
 * The Usage page of the month-end line's month (its orgs × 20 products), rendered by the real server for a
 * signed-in parent admin: the whole request in process (Fastify's inject, no socket), one at a time, so the
 * figure is the server's own time. Floor: the page's reads written by hand through pg — per-product totals of the
 * month and the one before, one product's row of every org, every org's cost (a GROUP BY), the account's trends —
 * which any page showing the same figures must make.
 */
const USER = 'bench-console@bench.example';

export interface ConsoleScale {
  requests: number;
  warmup: number;
}

export async function benchConsole(
  db: Knex,
  url: string,
  data: MonthEndData,
  s: ConsoleScale,
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine> {
  const month = { account_id: data.accountId, month: `${data.month}-01` };
  if (!(await db('month_end_versions').where(month).first('version')))
    await closeMonth(db, { accountId: data.accountId, month: data.month, asOf: data.asOf });
  await computeTrends(db, { accountId: data.accountId, month: data.month });
  await db.raw(
    'ANALYZE month_end_versions, month_end_totals, month_end_orgs, trends, trend_runs, sessions, users',
  );
  const cookie = await db.transaction(async (trx) => {
    await addUser(trx, {
      accountId: data.accountId,
      email: USER,
      org: data.accountId,
      roles: ['admin'],
      actor: 'bench',
    });
    const user = await trx('users').where({ account_id: data.accountId, email: USER }).first('id');
    return `ot_session=${await createSession(trx, user.id, { idleMs: 3_600_000, maxMs: 3_600_000 })}`;
  });
  const now = Date.parse(data.asOf);
  const app = await buildServer({
    db,
    rateLimit: { limit: 10_000_000, periodSeconds: 60 },
    logger: false,
    now: () => now,
  });
  const pool = new pg.Pool({ connectionString: url, max: 1, options: '-c TimeZone=UTC' });
  const path = `/usage?month=${data.month}`;
  const firstProduct = (
    await db('month_end_totals').where(month).orderByRaw('usage_type COLLATE "C"').first('usage_type')
  )?.usage_type as string;
  try {
    const render = async (cold = false) => {
      if (cold) clearChartCache();
      const t = process.hrtime.bigint();
      const res = await app.inject({ method: 'GET', url: path, headers: { cookie } });
      if (res.statusCode !== 200)
        throw new Error(`console bench: ${path} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
      return { ms: Number(process.hrtime.bigint() - t) / 1e6, bytes: res.body.length };
    };
    const floorOnce = async () => {
      const t = process.hrtime.bigint();
      const c = await pool.connect();
      try {
        // What a user writing the page's reads by hand would send: the month's and the previous month's
        // per-product totals, one product's row of every org, every org's cost (a GROUP BY), the account's trends.
        const v = `SELECT max(version) FROM month_end_versions WHERE account_id = $1 AND month = $2::date`;
        const cur = [data.accountId, `${data.month}-01`];
        for (const m of [`${data.month}-01`, `${previous(data.month)}-01`])
          await c.query(
            `SELECT * FROM month_end_totals WHERE account_id = $1 AND month = $2::date AND version = (${v})`,
            [data.accountId, m],
          );
        await c.query(
          `SELECT public_id, billable_usage, total_usage FROM month_end_orgs WHERE account_id = $1 AND month = $2::date AND version = (${v}) AND usage_type = $3`,
          [...cur, firstProduct],
        );
        await c.query(
          `SELECT public_id, sum(total_cost) FROM month_end_orgs WHERE account_id = $1 AND month = $2::date AND version = (${v}) GROUP BY public_id`,
          cur,
        );
        await c.query(
          `SELECT * FROM trends WHERE account_id = $1 AND month = $2::date AND scope = 'account' AND view = 'billable'`,
          cur,
        );
      } finally {
        c.release();
      }
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    for (let i = 0; i < s.warmup; i++) await render();
    const orgs = (await db('month_end_orgs').where(month).countDistinct({ n: 'public_id' }).first())?.n;
    const runs: number[] = [];
    const floors: number[] = [];
    const p99s: number[] = [];
    // The first view of a month (no chart drawn yet), apart: the page's own cost with every chart to draw.
    const cold: number[] = [];
    for (let i = 0; i < Math.min(20, s.requests); i++) cold.push((await render(true)).ms);
    opts.log(
      `  console /usage cold (charts drawn every time): p50 ${median(cold).toFixed(1)} ms, p99 ${pct(cold, 99).toFixed(1)} ms`,
    );
    let bytes = 0;
    for (let r = 0; r < opts.runs; r++) {
      const lat: number[] = [];
      const fl: number[] = [];
      for (let i = 0; i < s.requests; i++) {
        const x = await render();
        bytes = x.bytes;
        lat.push(x.ms);
        fl.push(await floorOnce());
      }
      runs.push(median(lat));
      floors.push(median(fl));
      p99s.push(pct(lat, 99));
      opts.log(
        `  console /usage run ${r + 1}: ${s.requests} renders, p50 ${median(lat).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms; ` +
          `floor (the page's reads by hand) p50 ${median(fl).toFixed(1)} ms`,
      );
    }
    const line = benchLine(
      `console: Usage page (${orgs} orgs × 20 products), p50 per render`,
      Number(orgs) * 20,
      runs,
      floors,
    );
    line.details = {
      p99_ms: median(p99s),
      p50_ms: median(runs),
      cold_p50_ms: median(cold),
      cold_p99_ms: pct(cold, 99),
      html_bytes: bytes,
      aim_p99_ms: 150,
    };
    return line;
  } finally {
    await pool.end();
    await app.close();
  }
}

const previous = (month: string) => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
};
