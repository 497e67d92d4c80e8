import { parse } from 'csv-parse/sync';
import type { Knex } from 'knex';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/config';
import { Readable } from 'node:stream';
import { attributeDay } from '../../db/attribution';
import { ingestStream } from '../../activities/ingest-file';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { monthToDate } from '../../db/month-to-date';
import { computeTrends, storedTrends } from '../../db/trends';
import { add, dec, sub, text } from '../../domain/exact';
import { topMovers, trendMonths, trendRow, type View } from '../../domain/trends';
import { sampleUsage } from '../../scripts/lib/sample-data';
import { cloneTestDatabase } from '../support/db';
import { applyExample } from '../support/fixtures';

let db: Knex;
let url: string;
let drop: () => Promise<void>;
beforeAll(async () => ({ db, url, drop } = await cloneTestDatabase()));

/** The real CLI in a child process, against this file's database. */
function orgtally(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'orgtally'), ...args], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`orgtally ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
afterAll(async () => drop());

const MONTHS = ['2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08'];
const AS_OF = '2026-11-28T00:00:00Z';

/** Every invariant of the design, read back from the stored version (the close checked them before storing). */
async function violations(month: string, version: number): Promise<string[]> {
  const w = { account: 'acme', month: `${month}-01`, version };
  const { rows } = await db.raw(
    `WITH t AS (SELECT * FROM month_end_totals WHERE account_id = :account AND month = :month AND version = :version),
          o AS (SELECT * FROM month_end_orgs WHERE account_id = :account AND month = :month AND version = :version),
          g AS (SELECT * FROM month_end_tags WHERE account_id = :account AND month = :month AND version = :version)
     SELECT 'tags≠org ' || o.public_id || '/' || o.usage_type AS v
       FROM o JOIN (SELECT public_id, usage_type, sum(total_usage) tu, sum(billable_usage) bu, sum(committed_usage) cu,
                           sum(on_demand_usage) ou, sum(total_cost) tc, sum(percentage_in_org) p
                      FROM g GROUP BY 1, 2) s USING (public_id, usage_type)
      WHERE s.tu <> o.total_usage OR s.bu <> o.billable_usage OR s.cu <> o.committed_usage
         OR s.ou <> o.on_demand_usage OR s.tc <> o.total_cost OR s.p NOT IN (0, 100)
     UNION ALL
     SELECT 'orgs≠account ' || t.usage_type
       FROM t LEFT JOIN (SELECT usage_type, sum(total_usage) tu, sum(billable_usage) bu, sum(on_demand_usage) ou,
                                sum(committed_usage) cu, sum(total_cost) tc, sum(percentage_in_account) p
                           FROM o GROUP BY 1) s USING (usage_type)
      WHERE coalesce(s.tu, 0) <> t.total_usage OR coalesce(s.bu, 0) <> t.billable_usage
         OR coalesce(s.ou, 0) <> t.on_demand_usage OR coalesce(s.tc, 0) <> t.total_cost
         OR coalesce(s.cu, 0) <> least(t.billable_usage, t.included_usage)
         OR coalesce(s.p, 0) <> CASE WHEN t.total_usage > 0 THEN 100 ELSE 0 END
     UNION ALL
     SELECT 'min(billable, included) + on-demand ≠ billable ' || usage_type
       FROM t WHERE least(billable_usage, included_usage) + on_demand_usage <> billable_usage
     UNION ALL
     SELECT 'trial org billable ' || o.public_id FROM o WHERE NOT o.billable AND (o.billable_usage <> 0 OR o.total_cost <> 0)
     UNION ALL
     SELECT 'tag pct in account ≠ org ' || o.public_id || '/' || o.usage_type
       FROM o JOIN (SELECT public_id, usage_type, sum(percentage_in_account) p FROM g GROUP BY 1, 2) s
            USING (public_id, usage_type)
      WHERE s.p <> o.percentage_in_account`,
    w,
  );
  return rows.map((r: { v: string }) => r.v);
}

describe('six months of generated usage through attribution and month-end', () => {
  beforeAll(async () => {
    await applyExample(db);
    for (const month of MONTHS) {
      const fromMs = Date.parse(`${month}-01T00:00:00Z`);
      const next = new Date(fromMs);
      next.setUTCMonth(next.getUTCMonth() + 1);
      const lines = Readable.from(
        (function* () {
          for (const r of sampleUsage({ fromMs, toMs: next.getTime() })) yield `${JSON.stringify(r)}\n`;
        })(),
      );
      const res = await ingestStream(db, {
        source: `usage_${month}.ndjson`,
        stream: lines,
        format: 'ndjson',
        asOfMs: Date.parse(AS_OF),
        retentionDays: 400,
      });
      expect(res.quarantined).toBe(0);
      for (const day of (await monthDays(db, 'acme', month)).toAttribute)
        await attributeDay(db, { accountId: 'acme', day });
    }
  }, 240_000);

  it.each(MONTHS)('%s: every invariant holds on the stored figures', async (month) => {
    const r = await closeMonth(db, { accountId: 'acme', month, asOf: AS_OF });
    expect(r).toMatchObject({ outcome: 'created', version: 1, status: 'final' });
    expect(await violations(month, 1)).toEqual([]);
    const { rows } = await db.raw(
      `SELECT count(*)::int AS products, sum(total_cost)::text AS cost,
              bool_or(on_demand_usage > 0) AS some_on_demand, count(*) FILTER (WHERE included_usage > 0)::int AS committed
         FROM month_end_totals WHERE account_id = 'acme' AND month = ? AND version = 1`,
      [`${month}-01`],
    );
    // commitments, an allotment and on-demand usage are all exercised by the sample data
    expect(rows[0]).toMatchObject({ products: 10, some_on_demand: true, committed: 4 });
  });

  it('the trial org is in the "all" figures and never in the billable ones', async () => {
    const { rows } = await db.raw(
      `SELECT t.month, t.usage_type, t.total_usage - t.billable_usage AS non_billable, o.total_usage AS trial
         FROM month_end_totals t
         JOIN month_end_orgs o USING (account_id, month, version, usage_type)
        WHERE t.account_id = 'acme' AND o.public_id = 'trial-x'`,
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.non_billable).toBe(r.trial);
  });

  it('closing the six months again writes nothing', async () => {
    for (const month of MONTHS) {
      expect(await closeMonth(db, { accountId: 'acme', month, asOf: AS_OF })).toMatchObject({
        outcome: 'unchanged',
        version: 1,
      });
    }
    const { rows } = await db.raw(
      `SELECT count(*)::int AS n FROM month_end_versions WHERE account_id = 'acme'`,
    );
    expect(rows[0].n).toBe(MONTHS.length);
  });

  it('six-month trends equal the month-end figures of each month, in both views', async () => {
    const r = await computeTrends(db, { accountId: 'acme', month: '2026-08' });
    expect(r).toMatchObject({ months: MONTHS, missingMonths: [], changed: true });
    const t = await storedTrends(db, { accountId: 'acme', month: '2026-08' });
    if (!t) throw new Error('no trends stored');
    const { rows: orgs } = await db.raw(
      `SELECT to_char(month, 'YYYY-MM') AS month, public_id, usage_type, trim_scale(total_usage)::text AS all_value,
              trim_scale(billable_usage)::text AS billable_value FROM month_end_orgs WHERE account_id = 'acme'`,
    );
    expect(orgs.length).toBe(282); // 6 months × (4 + 4 × 10 + 3 trial) org products
    for (const o of orgs as Record<string, string>[]) {
      const i = MONTHS.indexOf(o.month as string);
      const find = (view: string) =>
        t.rows.find(
          (x) =>
            x.scope === 'org' &&
            x.public_id === o.public_id &&
            x.usage_type === o.usage_type &&
            x.view === view,
        );
      expect([find('all')?.values[i], find('billable')?.values[i]]).toEqual([o.all_value, o.billable_value]);
    }
    // all − billable = the trial org's usage, for every product and month
    for (const acc of t.rows.filter((x) => x.scope === 'account' && x.view === 'all')) {
      const billable = t.rows.find(
        (x) => x.scope === 'account' && x.view === 'billable' && x.usage_type === acc.usage_type,
      );
      const trial = t.rows.find(
        (x) => x.public_id === 'trial-x' && x.view === 'all' && x.usage_type === acc.usage_type,
      );
      acc.values.forEach((v, i) => {
        const diff = sub(dec(v ?? '0'), dec(billable?.values[i] ?? '0'));
        expect(text(diff)).toBe(text(dec(trial?.values[i] ?? '0')));
      });
    }
    expect(t.movers.length).toBeGreaterThan(0);
    expect(await computeTrends(db, { accountId: 'acme', month: '2026-08' })).toMatchObject({
      changed: false,
    });
  });

  it('report trends --format csv parses back into the stored numbers', async () => {
    const t = await storedTrends(db, { accountId: 'acme', month: '2026-08' });
    const rows = parse(
      orgtally('report', 'trends', '--account', 'acme', '--month', '2026-08', '--format', 'csv'),
      {
        columns: true,
      },
    ) as Record<string, string>[];
    expect(rows).toHaveLength(t?.rows.length ?? -1);
    for (const [i, r] of rows.entries()) {
      const s = t?.rows[i];
      expect([r.public_id, r.usage_type, r.view, ...MONTHS.map((m) => r[m] || null)]).toEqual([
        s?.scope === 'account' ? '' : s?.public_id,
        s?.usage_type,
        s?.view,
        ...(s?.values ?? []),
      ]);
    }
    const table = orgtally(
      'report',
      'trends',
      '--account',
      'acme',
      '--month',
      '2026-08',
      '--org',
      'client-a',
    );
    expect(table).toMatch(/client-a +Client A +infra_hosts +billable +[▁▂▃▄▅▆▇█]{6}/);
  });

  it('report summary: Datadog-style JSON, shares add up to 100 in each view, the trial org explained', async () => {
    for (const view of ['billable', 'all']) {
      const out = JSON.parse(
        orgtally(
          'report',
          'summary',
          '--account',
          'acme',
          '--month',
          '2026-08',
          '--view',
          view,
          '--include-org-details',
          '--format',
          'json',
        ),
      );
      expect(out).toMatchObject({ account: 'acme', month: '2026-08', view, status: 'final' });
      expect(out.usage).toHaveLength(10);
      const byProduct = new Map<string, string[]>();
      for (const o of out.orgs)
        byProduct.set(o.usage_type, [...(byProduct.get(o.usage_type) ?? []), o.percentage_in_account]);
      for (const [, pcts] of byProduct)
        expect(text(pcts.map((p) => dec(p)).reduce((a, b) => add(a, b)))).toBe('100');
      const trial = out.orgs.find((o: { public_id: string }) => o.public_id === 'trial-x');
      expect(trial).toMatchObject({
        billable: false,
        non_billable_reason: expect.stringMatching(/trial org/),
      });
      expect(trial.percentage_in_account === '0').toBe(view === 'billable');
      expect(out.orgs.find((o: { public_id: string }) => o.public_id === 'acme').is_parent).toBe(true);
    }
  });

  it('month-to-date runs the rules over the hours elapsed', async () => {
    const mtd = await monthToDate(db, { accountId: 'acme', month: '2026-08', asOf: '2026-08-16T00:30:00Z' });
    expect(mtd.hours).toBe(15 * 24);
    expect([mtd.periodEnd, mtd.dataCompleteThrough]).toEqual([
      '2026-08-16T00:00:00.000Z',
      '2026-08-13T00:00:00.000Z',
    ]);
    const { rows } = await db.raw(
      `SELECT p.code, trim_scale(sum(f.value))::text AS s
         FROM usage_facts f JOIN products p ON p.id = f.product_id
        WHERE p.account_id = 'acme' AND f.hour >= '2026-08-01T00:00Z' AND f.hour < '2026-08-16T00:00Z'
          AND p.aggregation = 'sum'
        GROUP BY p.code`,
    );
    for (const r of rows as { code: string; s: string }[])
      expect(mtd.totals.find((t) => t.usage_type === r.code)?.total_usage).toBe(r.s);
  });

  it('the SQL trends and movers equal the reference rules, with new, stopped and not-closed months', async () => {
    // client-c starts in June, the trial org stops after July (read only by trends: the versions stay as stored)
    await db('month_end_orgs')
      .where({ account_id: 'acme', public_id: 'client-c' })
      .whereIn('month', ['2026-03-01', '2026-04-01', '2026-05-01'])
      .delete();
    await db('month_end_orgs')
      .where({ account_id: 'acme', public_id: 'trial-x', month: '2026-08-01' })
      .delete();
    for (const month of ['2026-05', '2026-08', '2026-09', '2026-10']) {
      await db('trend_runs').where({ account_id: 'acme' }).delete();
      await computeTrends(db, { accountId: 'acme', month });
      const t = await storedTrends(db, { accountId: 'acme', month });
      if (!t) throw new Error('no trends');
      const months = trendMonths(month);
      const closed = months.map((m) => MONTHS.includes(m));
      const { rows: src } = await db.raw(
        `SELECT to_char(month, 'YYYY-MM') AS month, public_id, usage_type, trim_scale(total_usage)::text AS a,
                trim_scale(billable_usage)::text AS b FROM month_end_orgs WHERE account_id = 'acme'
         UNION ALL
         SELECT to_char(month, 'YYYY-MM'), '', usage_type, trim_scale(total_usage)::text, trim_scale(billable_usage)::text
           FROM month_end_totals WHERE account_id = 'acme'`,
      );
      const raw = new Map<string, (string | null)[]>();
      for (const r of src as {
        month: string;
        public_id: string;
        usage_type: string;
        a: string;
        b: string;
      }[]) {
        const i = months.indexOf(r.month);
        if (i < 0) continue;
        for (const view of ['all', 'billable'] as View[]) {
          const k = `${r.public_id}|${r.usage_type}|${view}`;
          const arr = raw.get(k) ?? months.map(() => null);
          arr[i] = view === 'all' ? r.a : r.b;
          raw.set(k, arr);
        }
      }
      const expected = [...raw].map(([k, values]) => {
        const [public_id, usage_type, view] = k.split('|') as [string, string, View];
        return trendRow({ public_id: public_id === '' ? null : public_id, usage_type, view }, values, closed);
      });
      const actual = t.rows.map((r) => ({
        k: `${r.public_id}|${r.usage_type}|${r.view}`,
        values: r.values,
        mom: [r.mom_kind, r.mom_abs, r.mom_pct],
        six: [r.six_kind, r.six_abs, r.six_pct],
      }));
      const want = expected.map((r) => ({
        k: `${r.public_id ?? ''}|${r.usage_type}|${r.view}`,
        values: r.values,
        mom: [r.mom.kind, r.mom.abs, r.mom.pct],
        six: [r.six_month.kind, r.six_month.abs, r.six_month.pct],
      }));
      const byK = (a: { k: string }, b: { k: string }) => (a.k < b.k ? -1 : 1);
      expect(actual.sort(byK)).toEqual(want.sort(byK));
      const movers = (['billable', 'all'] as View[]).flatMap((view) =>
        topMovers(expected, { view, exclude: ['acme'] }),
      );
      const key = (m: { view: string; usage_type: string; kind: string; public_id: string }) =>
        `${m.view}|${m.usage_type}|${m.kind}|${m.public_id}`;
      expect(t.movers.map((m) => `${key(m as never)}|${m.abs}|${m.pct}`).sort()).toEqual(
        movers.map((m) => `${key(m)}|${m.abs}|${m.pct}`).sort(),
      );
    }
  });
});
