import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { applyAccountSpec } from '../db/accounts';
import { evaluateAlerts } from '../db/alerts';
import { computeEstimates } from '../db/estimates';
import { dailySql, refreshRollup } from '../db/usage-rollup';
import { validateSpec } from '../domain/spec';
import { benchLine, median, timeIt, type BenchLine } from './lib';

/** One account, `orgs` × `products`, its rollups over the 18 days before the estimate hour. */
export interface EstimatesScale {
  orgs: number;
  products: number;
}

export interface EstimatesData {
  accountId: string;
  /** The estimate / alert hour: 15 complete days of the month elapsed. */
  asOf: string;
  /** The hour the new batch brings (the last hour before asOf). */
  newHour: string;
  newBatchId: string;
  /** Facts of the new hour, usage_daily rows the estimate reads (1st … 15th). */
  newFacts: number;
  monthDailyRows: number;
}

const ACCOUNT = 'bench-est';
const MONTH_START = '2026-11-01';
/** Rollups from here: 14 baseline days before the last complete day (the 12th at asOf, lateness 72 h) and more. */
const FIRST_DAY = '2026-10-29';
const AS_OF = '2026-11-16T00:00:00Z';
const NEW_HOUR = '2026-11-15T23:00:00Z';
/** The day of the spike and the drop (the last complete day at asOf) and the start of the stall. */
const ANOMALY_DAY = '2026-11-12';
const RULES = ['sum', 'avg', 'max', 'p99', 'last'] as const;

/**
 * The bench account: `orgs` client orgs, `products` products over the five rules (p0, p5, … sum), two commitments,
 * and three alert rules over every org × product: a spike and a drop (≥ 50 % and ≥ 1 unit against the 14-day
 * median) and a stall (72 h lateness).
 */
function estimatesSpec(scale: EstimatesScale) {
  const v = validateSpec({
    account: { id: ACCOUNT, name: 'Bench estimates MSP', timezone: 'UTC', lateness: '72h' },
    orgs: [
      { id: ACCOUNT, name: 'Bench estimates MSP' },
      ...Array.from({ length: scale.orgs }, (_, i) => ({
        id: `be-org-${i}`,
        name: `Estimates org ${i}`,
        parent: ACCOUNT,
        billable: i % 25 !== 12,
      })),
    ],
    products: Array.from({ length: scale.products }, (_, j) => ({
      code: `p${j}`,
      unit: 'unit',
      aggregation: RULES[j % RULES.length],
    })),
    commitments: [
      {
        product: 'p0',
        quantity: String(scale.orgs * 5000),
        committed_price: '0.10',
        on_demand_price: '0.12',
      },
      {
        product: 'p3',
        quantity: String(scale.orgs * 20),
        committed_price: '15.00',
        on_demand_price: '18.00',
      },
    ],
    alerts: [
      {
        id: 'spike',
        kind: 'spike',
        change_percent: 50,
        min_units: '1',
        recipients: ['ops@bench.example'],
      },
      { id: 'drop', kind: 'drop', change_percent: 50, min_units: '1', recipients: ['ops@bench.example'] },
      { id: 'stall', kind: 'stall', recipients: ['ops@bench.example'] },
    ],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.spec;
}

/**
 * Hourly values (org_id, product_id, i, hour, v) over [:from, :to): 3 decimals from a formula of the indices, a
 * diurnal cycle, ±10 % noise, the first 5 % of orgs 50× larger. On ANOMALY_DAY product p0 is 5× for the first
 * 1 % of orgs (a spike) and 20 % for the next 1 % (a drop); the 1 % after those send nothing from that day on
 * (a stall).
 */
const VALUES = `
  WITH o AS (SELECT id, split_part(public_id, '-', 3)::int AS i FROM orgs
              WHERE account_id = :account AND public_id <> :account),
       p AS (SELECT id, substr(code, 2)::int AS j FROM products WHERE account_id = :account),
       h AS (SELECT hour, (extract(epoch FROM hour - TIMESTAMPTZ '2026-10-01T00:00:00Z') / 3600)::int AS k,
                    CAST(1 + 0.3 * sin(2 * pi() * (extract(hour FROM hour AT TIME ZONE 'UTC') - 8) / 24) AS numeric) AS diurnal
               FROM generate_series(CAST(:from AS timestamptz), CAST(:to AS timestamptz) - interval '1 hour',
                                    interval '1 hour') AS hour)
  SELECT o.id AS org_id, p.id AS product_id, o.i, h.hour,
         round((1 + (o.i * 31 + p.j * 17) % 50) * CASE WHEN o.i < :orgs / 20 THEN 50 ELSE 1 END
               * (0.9 + ((((o.i * 7919 + p.j * 104729 + h.k * 1299709)::bigint * 2654435761) % 1000003) * 0.0000002))
               * h.diurnal
               * CASE WHEN p.j = 0 AND h.hour >= CAST(:anomaly AS timestamptz)
                           AND h.hour < CAST(:anomaly AS timestamptz) + interval '1 day'
                      THEN CASE WHEN o.i < :pct THEN 5 WHEN o.i < 2 * :pct THEN 0.2 ELSE 1 END
                      ELSE 1 END, 3) AS v
    FROM o, p, h
   WHERE NOT (o.i >= 2 * :pct AND o.i < 3 * :pct AND h.hour >= CAST(:anomaly AS timestamptz))`;

/**
 * Loads the rollups straight into Postgres (set-based, not through ingest and refreshRollup): usage_hourly for
 * every hour from FIRST_DAY to the hour before NEW_HOUR (day by day, in key order), usage_daily from it with
 * refreshRollup's own daily statement, and the facts of the last day in two tag sets: hours before NEW_HOUR in
 * one batch already rolled up, NEW_HOUR in a new batch. Earlier usage, rollups, estimates and alerts of the
 * bench database are truncated.
 */
export async function loadEstimatesData(
  db: Knex,
  scale: EstimatesScale,
  log: (s: string) => void,
): Promise<EstimatesData> {
  await db.raw(
    `TRUNCATE usage_facts, ingest_batches, usage_hourly, usage_daily, rollup_batches, estimate_runs, alert_states,
       alert_events, alert_runs CASCADE`,
  );
  await db('deliveries').where({ account_id: ACCOUNT }).delete();
  await applyAccountSpec(db, estimatesSpec(scale), { asOfMs: Date.parse(AS_OF) });
  const t0 = Date.now();
  const base = {
    account: ACCOUNT,
    orgs: scale.orgs,
    pct: Math.max(1, Math.floor(scale.orgs / 100)),
    anomaly: `${ANOMALY_DAY}T00:00:00Z`,
  };
  const { rows: days } = await db.raw(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day FROM generate_series(CAST(:first AS date), CAST(:last AS date),
       interval '1 day') AS d`,
    { first: FIRST_DAY, last: NEW_HOUR.slice(0, 10) },
  );
  let hourly = 0;
  let daily = 0;
  for (const { day } of days as { day: string }[]) {
    await db.transaction(async (trx) => {
      await trx.raw(`SET LOCAL work_mem = '256MB'`);
      await trx.raw(`SET LOCAL jit = off`);
      const from = `${day}T00:00:00Z`;
      const to =
        day === NEW_HOUR.slice(0, 10) ? NEW_HOUR : new Date(Date.parse(from) + 86_400_000).toISOString();
      const h = await trx.raw(
        `INSERT INTO usage_hourly (account_id, hour, org_id, product_id, total)
         SELECT :account, x.hour, x.org_id, x.product_id, x.v FROM (${VALUES}) x
          ORDER BY x.hour, x.org_id, x.product_id`,
        { ...base, from, to },
      );
      const d = await trx.raw(
        `INSERT INTO usage_daily (account_id, day, org_id, product_id, hours, total, peak, last_hour, last_value, top)
         ${dailySql(
           'usage_hourly',
           `(SELECT CAST(:account AS text) AS account_id, CAST(:day AS date) AS day,
                    floor(a.p99_drop_percent * 745 / 100)::int + 1 AS keep,
                    CAST(:day AS date)::timestamp AT TIME ZONE 'UTC' AS day_start,
                    (CAST(:day AS date) + 1)::timestamp AT TIME ZONE 'UTC' AS day_end
               FROM accounts a WHERE a.id = :account)`,
         )}`,
        { account: ACCOUNT, day },
      );
      hourly += h.rowCount ?? 0;
      daily += d.rowCount ?? 0;
    });
  }
  // The last day's facts: untagged and team:a, splitting each hourly value (Σ facts = the hourly total).
  const sets = [[], ['team:a']].map((t, n) => ({
    n,
    t,
    h: createHash('sha256').update(t.join('\n')).digest('hex'),
  }));
  await db.raw(
    `INSERT INTO tag_sets (tags_hash, tags)
     SELECT e->>'h', ARRAY(SELECT jsonb_array_elements_text(e->'t')) FROM jsonb_array_elements(?::jsonb) e
     ON CONFLICT (tags_hash) DO NOTHING`,
    [JSON.stringify(sets)],
  );
  const batch = async (key: string, from: string, to: string) => {
    const [b] = await db('ingest_batches')
      .insert({ batch_key: key, source: 'bench', format: 'ndjson', records_read: 0, accepted: 0, as_of: to })
      .returning('id');
    const id = String((b as { id: string }).id);
    const r = await db.raw(
      `WITH t AS (SELECT s.id, (e->>'n')::int AS n FROM jsonb_array_elements(CAST(:sets AS jsonb)) e
                    JOIN tag_sets s ON s.tags_hash = e->>'h'),
            x AS (${VALUES})
       INSERT INTO usage_facts (batch_id, line, org_id, product_id, hour, tag_set_id, value)
       SELECT :batch, row_number() OVER (ORDER BY x.hour, x.org_id, x.product_id, t.n), x.org_id, x.product_id,
              x.hour, t.id, CASE t.n WHEN 0 THEN round(x.v * 0.6, 3) ELSE x.v - round(x.v * 0.6, 3) END
         FROM x, t ORDER BY x.hour, x.org_id`,
      { ...base, from, to, batch: id, sets: JSON.stringify(sets) },
    );
    await db('ingest_batches')
      .where({ id })
      .update({ records_read: r.rowCount ?? 0, accepted: r.rowCount ?? 0 });
    return { id, facts: r.rowCount ?? 0 };
  };
  const day = `${NEW_HOUR.slice(0, 10)}T00:00:00Z`;
  const old = await batch('bench-estimates-day', day, NEW_HOUR);
  await db('rollup_batches').insert({ batch_id: old.id });
  const next = await batch('bench-estimates-hour', NEW_HOUR, AS_OF);
  await db.raw('VACUUM ANALYZE usage_hourly, usage_daily, usage_facts, ingest_batches, rollup_batches');
  await db.raw('ANALYZE orgs, products, accounts, tag_sets');
  const { rows } = await db.raw(
    `SELECT count(*)::int AS n FROM usage_daily
      WHERE account_id = :account AND day >= CAST(:first AS date) AND day < CAST(:asOf AS date)`,
    { account: ACCOUNT, first: MONTH_START, asOf: AS_OF.slice(0, 10) },
  );
  log(
    `estimates data: ${hourly.toLocaleString('en-US')} hourly rows and ${daily.toLocaleString('en-US')} daily rows ` +
      `(${scale.orgs} orgs × ${scale.products} products, ${FIRST_DAY} to ${NEW_HOUR}), ` +
      `${(old.facts + next.facts).toLocaleString('en-US')} facts of ${NEW_HOUR.slice(0, 10)} ` +
      `(${next.facts.toLocaleString('en-US')} in the new hour) for ${ACCOUNT}, loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return {
    accountId: ACCOUNT,
    asOf: AS_OF,
    newHour: NEW_HOUR,
    newBatchId: next.id,
    newFacts: next.facts,
    monthDailyRows: rows[0].n,
  };
}

/** count, Σ and md5 of the new hour's usage_hourly rows. */
async function hourFingerprint(db: Knex, data: EstimatesData): Promise<string> {
  const { rows } = await db.raw(
    `SELECT count(*) AS n, coalesce(sum(total), 0) AS total,
            md5(string_agg(concat_ws(' ', org_id, product_id, total), ',' ORDER BY org_id, product_id)) AS md5
       FROM usage_hourly WHERE account_id = ? AND hour = ?`,
    [data.accountId, data.newHour],
  );
  const r = rows[0] as { n: string; total: string; md5: string | null };
  return `${r.n} rows, Σ ${r.total}, md5 ${r.md5?.slice(0, 12)}`;
}

/**
 * refreshRollup of one new hour of facts (the hour's usage_hourly rows, merged into its day's usage_daily rows,
 * in one transaction) against the floor: one INSERT … SELECT of the same hour's usage_hourly rows from
 * usage_facts. Before each run the hour's rows are deleted, its day's daily rows put back as they were before the
 * hour, and the batch marked new. Throws unless both leave the same hourly rows, and unless the day's daily rows
 * equal a full recompute from usage_hourly. rows = facts of the new hour.
 */
export async function benchRollup(
  db: Knex,
  data: EstimatesData,
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine> {
  // The new hour's day as it was before the hour (refreshRollup merges the hour into it): restored every run.
  const day = { account_id: data.accountId, day: data.newHour.slice(0, 10) };
  await db.raw('DROP TABLE IF EXISTS bench_day_before');
  await db.raw(
    'CREATE TABLE bench_day_before AS SELECT * FROM usage_daily WHERE account_id = ? AND day = ?',
    [day.account_id, day.day],
  );
  const reset = async () => {
    await db('usage_hourly').where({ account_id: data.accountId, hour: data.newHour }).delete();
    await db('usage_daily').where(day).delete();
    await db.raw('INSERT INTO usage_daily SELECT * FROM bench_day_before');
    await db('rollup_batches').where({ batch_id: data.newBatchId }).delete();
    await db.raw('VACUUM ANALYZE usage_hourly, usage_daily, rollup_batches');
  };
  // The day's rows after the hour, as a full recompute from usage_hourly writes them.
  const dayFingerprint = async () => {
    const { rows } = await db.raw(
      `WITH d AS (SELECT a.id AS account_id, CAST(:day AS date) AS day,
                         floor(a.p99_drop_percent * 745 / 100)::int + 1 AS keep,
                         CAST(:day AS date)::timestamp AT TIME ZONE a.timezone AS day_start,
                         (CAST(:day AS date) + 1)::timestamp AT TIME ZONE a.timezone AS day_end
                    FROM accounts a WHERE a.id = :account)
       SELECT (SELECT md5(string_agg(x::text, ';' ORDER BY x.org_id, x.product_id))
                 FROM (${dailySql('usage_hourly', 'd')}) x) AS want,
              (SELECT md5(string_agg(x::text, ';' ORDER BY x.org_id, x.product_id))
                 FROM (SELECT account_id, day, org_id, product_id, hours, total, peak, last_hour, last_value, top
                         FROM usage_daily WHERE account_id = :account AND day = :day) x) AS got`,
      { day: day.day, account: day.account_id },
    );
    return rows[0] as { want: string; got: string };
  };
  const runs: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    await reset();
    floors.push(
      await timeIt(() =>
        db.raw(
          `INSERT INTO usage_hourly (account_id, hour, org_id, product_id, total)
           SELECT o.account_id, f.hour, f.org_id, f.product_id, sum(f.value)
             FROM usage_facts f JOIN orgs o ON o.id = f.org_id
            WHERE f.hour = CAST(? AS timestamptz)
            GROUP BY o.account_id, f.hour, f.org_id, f.product_id`,
          [data.newHour],
        ),
      ),
    );
    const floorRows = await hourFingerprint(db, data);
    await reset();
    let result = '';
    runs.push(
      await timeIt(async () => {
        const r = await refreshRollup(db);
        result = `${r.batches} batch, ${r.hours} hour, ${r.days} day(s)`;
        if (r.batches !== 1 || r.hours !== 1) throw new Error(`refreshRollup: ${JSON.stringify(r)}`);
      }),
    );
    const got = await hourFingerprint(db, data);
    if (got !== floorRows)
      throw new Error(`floor differs from refreshRollup:\n  floor ${floorRows}\n  rollup ${got}`);
    const daily = await dayFingerprint();
    if (daily.got !== daily.want)
      throw new Error(
        `refreshRollup's usage_daily differs from a full recompute of the day (${daily.got} ≠ ${daily.want})`,
      );
    opts.log(
      `  run ${i + 1}: refreshRollup ${runs[i]?.toFixed(0)} ms (${result}), INSERT … SELECT ${floors[i]?.toFixed(0)} ms (same rows: ${got})`,
    );
  }
  await db.raw('DROP TABLE bench_day_before');
  return benchLine('estimates: rollup (1 new hour → usage_hourly, daily)', data.newFacts, runs, floors);
}

/** count, Σ and md5 of (org, product, month-to-date) of the sum products. */
async function sumFingerprint(db: Knex, sql: string, bindings: Record<string, unknown>): Promise<string> {
  const { rows } = await db.raw(
    `SELECT count(*) AS n, coalesce(sum(mtd), 0) AS total,
            md5(string_agg(concat_ws(' ', public_id, code, mtd), ',' ORDER BY public_id COLLATE "C", code COLLATE "C")) AS md5
       FROM (${sql}) x`,
    bindings,
  );
  const r = rows[0] as { n: string; total: string; md5: string | null };
  return `${r.n} sum rows, Σ ${r.total}, md5 ${r.md5?.slice(0, 12)}`;
}

/**
 * computeEstimates (every org × product's month-to-date figure under its rule and projection, the account
 * totals with included and on-demand, stored in one REPEATABLE READ transaction) against the floor: one
 * CREATE TABLE … AS SELECT of the per org × product Σ of the month's usage_daily rows. Throws unless both have
 * as many org × product rows and the same month-to-date of every sum product. rows = daily rows read.
 */
async function benchComputeEstimates(
  db: Knex,
  data: EstimatesData,
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine> {
  const runs: number[] = [];
  const floors: number[] = [];
  const b = { account: data.accountId, first: MONTH_START, asOf: data.asOf };
  for (let i = 0; i < opts.runs; i++) {
    await db.raw('DROP TABLE IF EXISTS bench_estimates_floor');
    floors.push(
      await timeIt(() =>
        db.raw(
          `CREATE TABLE bench_estimates_floor AS
           SELECT org_id, product_id, trim_scale(sum(total)) AS mtd FROM usage_daily
            WHERE account_id = :account AND day >= CAST(:first AS date) AND day < CAST(CAST(:asOf AS timestamptz) AS date)
            GROUP BY org_id, product_id`,
          b,
        ),
      ),
    );
    let orgRows = 0;
    runs.push(
      await timeIt(async () => {
        orgRows = (await computeEstimates(db, data.accountId, data.asOf)).orgRows;
      }),
    );
    const floorCount = Number((await db.raw('SELECT count(*) AS n FROM bench_estimates_floor')).rows[0].n);
    const floorSums = await sumFingerprint(
      db,
      `SELECT o.public_id, p.code, f.mtd FROM bench_estimates_floor f JOIN orgs o ON o.id = f.org_id
         JOIN products p ON p.id = f.product_id WHERE p.aggregation = 'sum'`,
      {},
    );
    const got = await sumFingerprint(
      db,
      `SELECT e.public_id, e.usage_type AS code, e.mtd_usage AS mtd FROM estimate_orgs e
         JOIN products p ON p.account_id = e.account_id AND p.code = e.usage_type
        WHERE e.account_id = :account AND e.as_of = :asOf AND p.aggregation = 'sum'`,
      b,
    );
    if (floorCount !== orgRows || floorSums !== got)
      throw new Error(
        `floor differs from computeEstimates:\n  floor ${floorCount} rows, ${floorSums}\n  estimate ${orgRows} rows, ${got}`,
      );
    opts.log(
      `  run ${i + 1}: computeEstimates ${runs[i]?.toFixed(0)} ms, SQL floor ${floors[i]?.toFixed(0)} ms (same rows: ${orgRows} org × product rows, ${got})`,
    );
  }
  await db.raw('DROP TABLE IF EXISTS bench_estimates_floor');
  return benchLine(
    'estimates: computeEstimates (usage_daily → estimate_*)',
    data.monthDailyRows,
    runs,
    floors,
  );
}

/**
 * evaluateAlerts of the three rules at asOf, the hour a new day becomes the last complete one (every spike and
 * drop scope is judged on a new day, every stall scope has a new last hour: each state row is written), after an
 * untimed evaluation of the hour before. No floor: a figure only (floor 0, ratio NaN). The first evaluation
 * ever (no states yet) and the same hour evaluated again (nothing changes) are logged too. rows = scopes
 * evaluated (org × product for spike and drop, org for stall).
 */
async function benchAlerts(
  db: Knex,
  data: EstimatesData,
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine> {
  const input = { accountId: data.accountId, asOf: data.asOf };
  const before = new Date(Date.parse(data.asOf) - 3_600_000).toISOString();
  const reset = async () => {
    // alert_runs too: an hour older than the last one evaluated would be skipped.
    await db('alert_runs').where({ account_id: data.accountId }).delete();
    await db('alert_states').where({ account_id: data.accountId }).delete();
    await db('alert_events').where({ account_id: data.accountId }).delete();
    await db('deliveries').where({ account_id: data.accountId }).delete();
    await db.raw('VACUUM ANALYZE alert_runs, alert_states, alert_events, deliveries');
  };
  const notSkipped = (r: Awaited<ReturnType<typeof evaluateAlerts>>) => {
    if (r.skipped) throw new Error(`evaluateAlerts skipped: ${r.skipped}`);
  };
  await reset();
  const cold = await timeIt(async () =>
    notSkipped(await evaluateAlerts(db, { ...input, asOf: before }, 'bench.example')),
  );
  const runs: number[] = [];
  let rows = 0;
  let summary = '';
  for (let i = 0; i < opts.runs; i++) {
    if (i > 0) {
      await reset();
      notSkipped(await evaluateAlerts(db, { ...input, asOf: before }, 'bench.example'));
    }
    runs.push(
      await timeIt(async () => {
        const r = await evaluateAlerts(db, input, 'bench.example');
        notSkipped(r);
        rows = r.evaluated + r.notEvaluated;
        const by = (k: string) => r.notices.filter((n) => n.kind === k).length;
        summary = `${r.evaluated} evaluated, ${r.notEvaluated} not, ${r.firing} firing, notices: spike ${by('spike')}, drop ${by('drop')}, stall ${by('stall')}`;
      }),
    );
    opts.log(`  run ${i + 1}: evaluateAlerts ${runs[i]?.toFixed(0)} ms (${summary}); no floor`);
  }
  const again = await timeIt(async () => notSkipped(await evaluateAlerts(db, input, 'bench.example')));
  opts.log(
    `  first evaluation ever (no states, the hour before): ${cold.toFixed(0)} ms; the same hour again (no change): ${again.toFixed(0)} ms`,
  );
  const line = benchLine('estimates: evaluateAlerts (spike, drop, stall; no floor)', rows, runs, runs);
  return {
    ...line,
    floor: 0,
    ratio: Number.NaN,
    floor_runs: [],
    runs,
    figure: median(runs),
  };
}

/** The three estimate paths on one loaded account: rollup of a new hour, the estimate, the alert evaluation. */
export async function benchEstimates(
  db: Knex,
  data: EstimatesData,
  opts: { runs: number; log: (s: string) => void },
): Promise<BenchLine[]> {
  return [
    await benchRollup(db, data, opts),
    await benchComputeEstimates(db, data, opts),
    await benchAlerts(db, data, opts),
  ];
}
