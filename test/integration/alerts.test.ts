import type { Knex } from 'knex';
import { Readable } from 'node:stream';
import { applyAccountSpec } from '../../db/accounts';
import { alertHistory, listAlertStates } from '../../db/alert-reads';
import { evaluateAlerts } from '../../db/alerts';
import { refreshRollup } from '../../db/usage-rollup';
import { ingestStream } from '../../activities/ingest-file';
import { HOUR_MS, isoHour } from '../../domain/time';
import { cloneTestDatabase } from '../support/db';
import { exampleSpecJson, parseSpec, rec, TEST_AS_OF } from '../support/fixtures';

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => ({ db, drop } = await cloneTestDatabase()));
afterAll(async () => drop());

const OPS = ['ops@acme.example'];
const RULES = [
  {
    id: 'b-logs',
    kind: 'threshold',
    scope: { org: 'client-b', product: 'logs_ingested_bytes' },
    above: '1000',
  },
  {
    id: 'drop',
    kind: 'drop',
    scope: { product: 'logs_ingested_bytes' },
    change_percent: 50,
    min_units: '10',
  },
  {
    id: 'spike',
    kind: 'spike',
    scope: { product: 'logs_ingested_bytes' },
    change_percent: 50,
    min_units: '20',
  },
  {
    id: 'prod-spike',
    kind: 'spike',
    scope: { org: 'client-b', product: 'logs_ingested_bytes', tags: ['env:prod'] },
    change_percent: 50,
    min_units: '20',
  },
  {
    id: 'dev-spike',
    kind: 'spike',
    scope: { org: 'client-b', product: 'logs_ingested_bytes', tags: ['env:dev'] },
    change_percent: 50,
    min_units: '20',
  },
  { id: 'stall', kind: 'stall' },
].map((r) => ({ ...r, recipients: OPS }));

const FROM = Date.parse('2026-10-01T00:00:00Z');
const TO = Date.parse('2026-10-22T00:00:00Z');
const SPIKE_DAY = '2026-10-16';
const C_STOPS = Date.parse('2026-10-17T00:00:00Z');

/**
 * Logs usage per hour, 1 unit each: client-a; client-b under env:prod and env:dev; client-c until it stops.
 * On 2026-10-16 client-b's env:prod hours are 5 (a spike) and client-a's 0.2 (a drop).
 */
function lines(): string[] {
  const out: string[] = [];
  for (let h = FROM; h < TO; h += HOUR_MS) {
    const t = isoHour(h);
    const spikeDay = t.startsWith(SPIKE_DAY);
    out.push(rec(t, 'client-a', 'logs_ingested_bytes', spikeDay ? '0.2' : '1'));
    out.push(rec(t, 'client-b', 'logs_ingested_bytes', spikeDay ? '5' : '1', ['env:prod']));
    out.push(rec(t, 'client-b', 'logs_ingested_bytes', '1', ['env:dev']));
    if (h < C_STOPS) out.push(rec(t, 'client-c', 'logs_ingested_bytes', '1'));
  }
  return out;
}

async function ingest(source: string, l: string[], replace = false) {
  const r = await ingestStream(db, {
    source,
    stream: Readable.from(l.map((x) => `${x}\n`)),
    format: 'ndjson',
    asOfMs: TO,
    retentionDays: 400,
    ...(replace ? { replace } : {}),
  });
  expect(r.quarantined).toBe(0);
}

async function evaluate(asOf: string) {
  await refreshRollup(db);
  const r = await evaluateAlerts(db, { accountId: 'acme', asOf }, 'acme.example');
  return r.notices.map((n) => `${n.ruleId} ${n.notify} ${n.scopeKey} ${n.window}`).sort();
}

const ledger = async () =>
  (await db('deliveries').where({ kind: 'alert' }).orderBy('id')).map((d) => d.dedupe_key as string);

describe('alert rules over ingested usage (72 h lateness, UTC)', () => {
  beforeAll(async () => {
    const spec = exampleSpecJson() as Record<string, unknown>;
    spec.alerts = RULES;
    await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
    await ingest('usage.ndjson', lines());
  });

  it('a day still within the lateness window is not evaluated: no spike while 2026-10-16 may still change', async () => {
    // at 10-19 12:00 the last complete day is 10-15
    expect(await evaluate('2026-10-19T12:00:00Z')).toEqual([]);
    const states = await listAlertStates(db, 'acme', { all: true });
    const spike = states.find((s) => s.rule_id === 'spike' && s.scope_key.includes('client-b'));
    expect(spike).toMatchObject({ state: 'ok', window: '2026-10-15' });
  });

  it('fires once per rule and scope: spike, drop, tagged spike, threshold and the stalled org', async () => {
    expect(await evaluate('2026-10-20T12:00:00Z')).toEqual([
      'b-logs fire org=client-b;product=logs_ingested_bytes 2026-10',
      'drop fire org=client-a;product=logs_ingested_bytes 2026-10-16',
      'prod-spike fire org=client-b;product=logs_ingested_bytes;tags=env:prod 2026-10-16',
      'spike fire org=client-b;product=logs_ingested_bytes 2026-10-16',
      'stall fire org=client-c 2026-10-16T23:00:00Z',
    ]);
    expect(await ledger()).toHaveLength(5);
    const history = await alertHistory(db, 'acme');
    const spike = history.find((e) => e.rule_id === 'spike');
    // the rule text states value, baseline, window and unit
    expect(spike?.message).toBe(
      'logs_ingested_bytes for client-b on 2026-10-16: 144 GB vs a median of 48 GB over the 14 complete days ' +
        'before (+200 %, +96 GB); fires at ≥ 50 % and ≥ 20 GB',
    );
    expect(history.find((e) => e.rule_id === 'stall')?.message).toMatch(
      /^client-c: data stopped arriving since 2026-10-16T23:00:00Z \(no data for 84 h, more than the 72 h/,
    );
    expect(history.find((e) => e.rule_id === 'drop')?.message).toContain('4.8 GB vs a median of 24 GB');
  });

  it('a second evaluation of the same hour changes and sends nothing', async () => {
    const before = await ledger();
    expect(await evaluate('2026-10-20T12:00:00Z')).toEqual([]);
    expect(await ledger()).toEqual(before);
  });

  it('restated data that removes the cause retracts the alerts of that window', async () => {
    const restated: string[] = [];
    for (let h = Date.parse(`${SPIKE_DAY}T00:00:00Z`); h < Date.parse('2026-10-17T00:00:00Z'); h += HOUR_MS)
      restated.push(
        rec(isoHour(h), 'client-b', 'logs_ingested_bytes', '1', ['env:prod']),
        rec(isoHour(h), 'client-b', 'logs_ingested_bytes', '1', ['env:dev']),
      );
    await ingest('restated.ndjson', restated, true);
    // the month-to-date threshold fired on the spike's units too: it is retracted for the month
    expect(await evaluate('2026-10-20T13:00:00Z')).toEqual([
      'b-logs retract org=client-b;product=logs_ingested_bytes 2026-10',
      'prod-spike retract org=client-b;product=logs_ingested_bytes;tags=env:prod 2026-10-16',
      'spike retract org=client-b;product=logs_ingested_bytes 2026-10-16',
    ]);
  });

  it('the next complete day resolves the drop; a stalled org is never reported as a drop', async () => {
    // 10-17 is complete at 10-21 12:00: client-a is back to normal; client-c sent nothing that day
    expect(await evaluate('2026-10-21T12:00:00Z')).toEqual([
      'drop resolve org=client-a;product=logs_ingested_bytes 2026-10-16',
    ]);
    const { rows } = await db.raw(
      `SELECT count(*)::int AS n FROM alert_events WHERE rule_id = 'drop' AND scope_key LIKE '%client-c%'`,
    );
    expect(rows[0].n).toBe(0);
    const states = await listAlertStates(db, 'acme', { all: true });
    expect(states.find((s) => s.rule_id === 'drop' && s.scope_key.includes('client-c'))?.message).toContain(
      'that is a stall, not a drop',
    );
    expect(states.filter((s) => s.state === 'firing').map((s) => `${s.rule_id} ${s.scope_key}`)).toEqual([
      'stall org=client-c',
    ]);
  });

  it('data arriving again resolves the stall', async () => {
    await ingest('client-c-back.ndjson', [
      rec('2026-10-21T10:00:00Z', 'client-c', 'logs_ingested_bytes', '1'),
    ]);
    expect(await evaluate('2026-10-21T13:00:00Z')).toEqual([
      'stall resolve org=client-c 2026-10-16T23:00:00Z',
    ]);
    // every notice has exactly one ledger row per recipient
    const { rows } = await db.raw(
      `SELECT e.event_key, count(d.id)::int AS n FROM alert_events e
         LEFT JOIN deliveries d ON d.reference->>'eventId' = e.id::text GROUP BY e.event_key`,
    );
    expect(rows.length).toBe(10);
    for (const r of rows) expect(r.n).toBe(OPS.length);
  });

  it('an earlier hour evaluated after a later one changes nothing (it would see the stall again)', async () => {
    await refreshRollup(db);
    const r = await evaluateAlerts(db, { accountId: 'acme', asOf: '2026-10-20T12:00:00Z' }, 'acme.example');
    expect(r.notices).toEqual([]);
    expect(r.skipped).toBe(
      'alerts were evaluated at 2026-10-21T13:00:00.000Z already: an earlier hour changes nothing',
    );
    expect((await listAlertStates(db, 'acme')).map((s) => s.rule_id)).toEqual([]);
  });
});
