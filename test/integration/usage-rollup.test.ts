import type { Knex } from 'knex';
import { Readable } from 'node:stream';
import { applyAccountSpec } from '../../db/accounts';
import { dailySql, refreshRollup } from '../../db/usage-rollup';
import { ingestStream } from '../../activities/ingest-file';
import { prng } from '../../scripts/lib/sample-data';
import { cloneTestDatabase } from '../support/db';
import { exampleSpecJson, parseSpec, rec, TEST_AS_OF } from '../support/fixtures';

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  const spec = exampleSpecJson() as { account: Record<string, unknown> };
  // A zone whose days are not UTC days, with a DST change inside the range (2026-11-01).
  spec.account.timezone = 'America/New_York';
  await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
});
afterAll(async () => drop());

const ingest = (source: string, lines: string[], replace = false) =>
  ingestStream(db, {
    source,
    stream: Readable.from(lines.map((l) => `${l}\n`)),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
    ...(replace ? { replace } : {}),
  });

/** usage_daily as a full recompute from usage_hourly would write it, every day of the account. */
async function recomputed(): Promise<string[]> {
  const { rows } = await db.raw(
    `WITH days AS (
       SELECT a.id AS account_id, d.day, floor(a.p99_drop_percent * 745 / 100)::int + 1 AS keep,
              d.day::timestamp AT TIME ZONE a.timezone AS day_start,
              (d.day + 1)::timestamp AT TIME ZONE a.timezone AS day_end
         FROM accounts a
         JOIN (SELECT DISTINCT u.account_id, (u.hour AT TIME ZONE a2.timezone)::date AS day
                 FROM usage_hourly u JOIN accounts a2 ON a2.id = u.account_id) d ON d.account_id = a.id)
     SELECT concat_ws(' ', x.day, x.org_id, x.product_id, x.hours, trim_scale(x.total), trim_scale(x.peak),
                      x.last_hour, trim_scale(x.last_value), x.top::text) AS r
       FROM (${dailySql('usage_hourly', 'days')}) x ORDER BY 1`,
  );
  return rows.map((r: { r: string }) => r.r);
}

async function stored(): Promise<string[]> {
  const { rows } = await db.raw(
    `SELECT concat_ws(' ', day, org_id, product_id, hours, trim_scale(total), trim_scale(peak), last_hour,
                      trim_scale(last_value), top::text) AS r
       FROM usage_daily ORDER BY 1`,
  );
  return rows.map((r: { r: string }) => r.r);
}

describe('usage_daily kept incrementally', () => {
  it('equals a full recompute after every refresh: new hours, late data for hours seen, replacements, a larger p99 drop', async () => {
    const rand = prng(7);
    const orgs = ['acme', 'client-a', 'client-b', 'trial-x'];
    const products = ['infra_hosts', 'apm_hosts', 'logs_ingested_bytes'];
    const base = Date.parse('2026-10-31T00:00:00Z');
    let hoursSeen = 0;
    for (let batch = 0; batch < 14; batch++) {
      // Mostly the next few new hours (the hourly estimate's case), sometimes hours already rolled up.
      const late = batch > 2 && rand() < 0.4;
      const lines: string[] = [];
      for (let i = 0; i < 40; i++) {
        const h = late ? Math.floor(rand() * hoursSeen) : hoursSeen + Math.floor(rand() * 5);
        const at = new Date(base + h * 3_600_000).toISOString();
        const org = orgs[Math.floor(rand() * orgs.length)] as string;
        const product = products[Math.floor(rand() * products.length)] as string;
        const value = (Math.floor(rand() * 100_000) / 1000).toFixed(3);
        lines.push(rec(at, org, product, value, rand() < 0.5 ? ['team:web'] : []));
      }
      if (!late) hoursSeen += 5;
      // Halfway, the account keeps more top values a day (a larger p99 drop in its spec).
      if (batch === 7) {
        const spec = exampleSpecJson() as { account: Record<string, unknown> };
        spec.account.timezone = 'America/New_York';
        spec.account.p99_drop_percent = '5';
        await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
      }
      await ingest(`b${batch}.ndjson`, lines, batch === 9);
      const r = await refreshRollup(db);
      expect(r.batches).toBe(1);
      expect(await stored()).toEqual(await recomputed());
    }
    expect((await stored()).length).toBeGreaterThan(20);
  });
});
