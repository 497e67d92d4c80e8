import type { Knex } from 'knex';
import { Readable } from 'node:stream';
import { attributeDay } from '../../db/attribution';
import { ingestBatch } from '../../db/ingest';
import { closeMonth, monthDays } from '../../db/month-end';
import { sampleUsage } from '../../scripts/lib/sample-data';
import { cloneTestDatabase } from '../support/db';
import { applyExample } from '../support/fixtures';

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => ({ db, drop } = await cloneTestDatabase()));
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
      const res = await ingestBatch(db, {
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
});
