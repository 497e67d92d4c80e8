import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import { buildServer } from '../api/server';
import { closeMonth } from '../db/month-end';
import { computeTrends } from '../db/trends';
import { changeShare, revokeSharedDashboard, shareDashboard } from '../queries/shares';
import { scopeOf } from '../queries/scope';
import { benchLine, median, percentile as pct, type BenchLine } from './lib';
import type { MonthEndData } from './month-end';

/**
 * Shared dashboards at the month-end line's scale (its orgs × 20 products, the month closed): one child org's
 * page, rendered by the real server in process one request at a time; and the neutral page of each way a link
 * opens nothing (unknown, paused, expired, revoked), which must take the same time. Floors, written by hand through
 * pg: for the page, the month's org rows of the org and the account's trends rows of the org; for the neutral
 * page, the one lookup of a digest.
 */
export async function benchShared(
  db: Knex,
  url: string,
  data: MonthEndData,
  s: { requests: number; warmup: number },
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine[]> {
  const month = { account_id: data.accountId, month: `${data.month}-01` };
  if (!(await db('month_end_versions').where(month).first('version')))
    await closeMonth(db, { accountId: data.accountId, month: data.month, asOf: data.asOf });
  await computeTrends(db, { accountId: data.accountId, month: data.month });
  const now = Date.parse(data.asOf);
  const scope = await scopeOf(db, data.accountId);
  const org = [...scope.orgs.keys()].find((o) => o !== data.accountId) as string;
  const make = async () =>
    shareDashboard(
      db,
      scope,
      { org, expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
      Date.now(),
    );
  const open = await make();
  const paused = await make();
  await changeShare(db, scope, paused.share.id, { status: 'paused' }, Date.now());
  const expired = await make();
  await db('shares')
    .where({ id: expired.share.id })
    .update({ expires_at: new Date(Date.now() - 1000) });
  const revoked = await make();
  await revokeSharedDashboard(db, scope, revoked.share.id);
  await db.raw('ANALYZE shares, share_misses, month_end_orgs, trends');
  const app = await buildServer({
    db,
    rateLimit: { limit: 10_000_000, periodSeconds: 60 },
    logger: false,
    now: () => now,
    console: { shareMisses: { perAddress: 1_000_000_000, windowMs: 60_000 } },
  });
  const pool = new pg.Pool({ connectionString: url, max: 1, options: '-c TimeZone=UTC' });
  const get = async (token: string, want: number) => {
    const t = process.hrtime.bigint();
    const res = await app.inject({ method: 'GET', url: `/shared/${token}` });
    if (res.statusCode !== want)
      throw new Error(`shared bench: ${res.statusCode} for a ${want}: ${res.body.slice(0, 200)}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const time = async (f: () => Promise<unknown>) => {
    const t = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const v = `(SELECT max(version) FROM month_end_versions WHERE account_id = $1 AND month = $2::date)`;
  const pageFloor = () =>
    time(async () => {
      await pool.query(
        `SELECT * FROM month_end_orgs WHERE account_id = $1 AND month = $2::date AND version = ${v} AND public_id = $3`,
        [data.accountId, `${data.month}-01`, org],
      );
      await pool.query(
        `SELECT * FROM trends WHERE account_id = $1 AND month = $2::date AND scope = 'org' AND public_id = $3 AND view = 'billable'`,
        [data.accountId, `${data.month}-01`, org],
      );
    });
  const lookupFloor = () =>
    time(() =>
      pool.query('SELECT id FROM shares WHERE digest = $1', [
        createHash('sha256').update('ots_nothing').digest(),
      ]),
    );
  const cases: [string, string][] = [
    ['unknown', `ots_${'x'.repeat(43)}`],
    ['paused', paused.token],
    ['expired', expired.token],
    ['revoked', revoked.token],
  ];
  try {
    for (let i = 0; i < s.warmup; i++) {
      await get(open.token, 200);
      for (const [, t] of cases) await get(t, 404);
    }
    const page: number[] = [];
    const pageFloors: number[] = [];
    const neutral: number[] = [];
    const neutralFloors: number[] = [];
    const p99s: number[] = [];
    const byCase = new Map<string, number[]>(cases.map(([c]) => [c, []]));
    for (let r = 0; r < opts.runs; r++) {
      const lat: number[] = [];
      const fl: number[] = [];
      const nl: number[] = [];
      const nf: number[] = [];
      for (let i = 0; i < s.requests; i++) {
        lat.push(await get(open.token, 200));
        fl.push(await pageFloor());
        // The cases interleaved and their order turned every time, so that neither drift of the machine nor
        // following the page's render falls on one case more than another.
        for (const [c, t] of [...cases.slice(i % cases.length), ...cases.slice(0, i % cases.length)]) {
          const ms = await get(t, 404);
          nl.push(ms);
          byCase.get(c)?.push(ms);
        }
        nf.push(await lookupFloor());
      }
      page.push(median(lat));
      pageFloors.push(median(fl));
      p99s.push(pct(lat, 99));
      neutral.push(median(nl));
      neutralFloors.push(median(nf));
      opts.log(
        `  shared page run ${r + 1}: p50 ${median(lat).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms (floor ${median(fl).toFixed(1)} ms); ` +
          `neutral p50 ${median(nl).toFixed(2)} ms (lookup by hand ${median(nf).toFixed(2)} ms)`,
      );
    }
    const perCase = Object.fromEntries(
      [...byCase].map(([c, xs]) => [c, { p50_ms: median(xs), p99_ms: pct(xs, 99) }]),
    );
    opts.log(
      `  neutral page by case: ${[...byCase].map(([c, xs]) => `${c} p50 ${median(xs).toFixed(2)} / p99 ${pct(xs, 99).toFixed(2)} ms`).join(', ')}`,
    );
    const pageLine = benchLine(
      `shared: one org's dashboard (of ${scope.orgs.size} orgs), p50 per render`,
      20,
      page,
      pageFloors,
    );
    pageLine.details = { p50_ms: median(page), p99_ms: median(p99s) };
    const neutralLine = benchLine(
      'shared: the neutral page (unknown, paused, expired, revoked), p50',
      1,
      neutral,
      neutralFloors,
    );
    neutralLine.details = { cases: perCase };
    return [pageLine, neutralLine];
  } finally {
    await app.close();
    await pool.end();
  }
}
