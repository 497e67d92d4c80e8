import type { Knex } from 'knex';
import { Readable } from 'node:stream';
import { ingestStream } from '../../activities/ingest-file';
import { attributeDay } from '../../db/attribution';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { computeTrends } from '../../db/trends';
import { ErrorType } from '../../domain/errors';
import { attributionDay } from '../../queries/attribution';
import { deliveries } from '../../queries/deliveries';
import { monthEndReport } from '../../queries/month-end';
import { scopeOf, type Scope } from '../../queries/scope';
import { usageSummary } from '../../queries/summary';
import { trendsReport } from '../../queries/trends';
import { cloneTestDatabase } from '../support/db';
import { applyExample, rec, TEST_AS_OF } from '../support/fixtures';

/** The read layer's one check: a caller of org O sees O and its descendants, account figures only from the root. */
let db: Knex;
let drop: () => Promise<void>;
const AS_OF = '2026-11-28T00:00:00Z';
const ORGS = ['acme', 'client-a', 'client-a-eu', 'client-b', 'client-c', 'trial-x'];

beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  await applyExample(db);
  const lines = ORGS.flatMap((org, i) => [
    rec('2026-10-03T10:00:00Z', org, 'infra_hosts', 10 + i, ['team:web']),
    rec('2026-10-04T11:00:00Z', org, 'logs_indexed_events', `${5 + i}.5`, ['env:prod']),
  ]);
  await ingestStream(db, {
    source: 'scope.ndjson',
    stream: Readable.from([lines.map((l) => `${l}\n`).join('')]),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
  });
  for (const day of (await monthDays(db, 'acme', '2026-10')).toAttribute)
    await attributeDay(db, { accountId: 'acme', day });
  await closeMonth(db, { accountId: 'acme', month: '2026-10', asOf: AS_OF });
  await computeTrends(db, { accountId: 'acme', month: '2026-10' });
});
afterAll(async () => drop());

const orgsOf = (rows: { public_id: string }[]) => [...new Set(rows.map((r) => r.public_id))].sort();
const scope = (org: string): Promise<Scope> => scopeOf(db, 'acme', org);

describe('scopes', () => {
  it('an org sees itself and its descendants, never a sibling or an ancestor', async () => {
    expect([...(await scope('acme')).orgs.keys()].sort()).toEqual([...ORGS].sort());
    expect([...(await scope('client-a')).orgs.keys()].sort()).toEqual(['client-a', 'client-a-eu']);
    expect([...(await scope('client-a-eu')).orgs.keys()]).toEqual(['client-a-eu']);
    expect((await scope('client-a')).parentLevel).toBe(false);
    await expect(scopeOf(db, 'acme', 'nobody')).rejects.toMatchObject({ type: ErrorType.NotFound });
    await expect(scopeOf(db, 'globex')).rejects.toThrow(/no account "globex" \(accounts: acme\)/);
  });

  it.each([
    ['acme', ORGS],
    ['client-a', ['client-a', 'client-a-eu']],
    ['client-a-eu', ['client-a-eu']],
    ['client-b', ['client-b']],
  ])('month-end, summary, trends and attribution rows of %s: only %j', async (org, want) => {
    const s = await scope(org);
    const me = await monthEndReport(db, s, { month: '2026-10', asOf: AS_OF });
    expect(orgsOf(me.by_org)).toEqual([...want].sort());
    expect(orgsOf(me.by_tag)).toEqual([...want].sort());
    expect(me.totals === undefined).toBe(org !== 'acme');
    const sum = await usageSummary(db, s, { month: '2026-10', view: 'billable', asOf: AS_OF });
    expect(orgsOf(sum.orgs)).toEqual([...want].sort());
    expect(sum.usage === undefined).toBe(org !== 'acme');
    const tr = await trendsReport(db, s, { month: '2026-10' });
    expect(orgsOf(tr.rows.filter((r) => r.scope === 'org'))).toEqual([...want].sort());
    expect(tr.rows.some((r) => r.scope === 'account')).toBe(org === 'acme');
    expect(tr.movers.length > 0).toBe(org === 'acme');
    const day = await attributionDay(db, s, { day: '2026-10-03' });
    expect(orgsOf(day.rows)).toEqual([...want].sort());
  });

  it("an org's share of the account is the same whoever reads it", async () => {
    const root = await usageSummary(db, await scope('acme'), {
      month: '2026-10',
      view: 'billable',
      asOf: AS_OF,
    });
    const child = await usageSummary(db, await scope('client-b'), {
      month: '2026-10',
      view: 'billable',
      asOf: AS_OF,
    });
    expect(child.orgs).toEqual(root.orgs.filter((r) => r.public_id === 'client-b'));
  });

  it('a sibling named by hand is "no such org", worded as for one that does not exist', async () => {
    const s = await scope('client-b');
    const sibling = trendsReport(db, s, { month: '2026-10', org: 'client-a' });
    await expect(sibling).rejects.toMatchObject({ type: ErrorType.NotFound });
    await expect(sibling).rejects.toThrow(/^no org "client-a" in account acme \(orgs: client-b\)$/);
    await expect(trendsReport(db, s, { month: '2026-10', org: 'ghost' })).rejects.toThrow(
      /^no org "ghost" in account acme \(orgs: client-b\)$/,
    );
  });

  it('account-level reads need the root org', async () => {
    await expect(deliveries(db, await scope('client-a'), { limit: 10 })).rejects.toMatchObject({
      type: ErrorType.NotFound,
    });
    await expect(deliveries(db, await scope('acme'), { limit: 10 })).resolves.toEqual([]);
  });
});
