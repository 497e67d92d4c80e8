import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import fs from 'node:fs';
import type { Knex } from 'knex';
import { simpleParser } from 'mailparser';
import { once } from 'node:events';
import path from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { ingestFile } from '../../activities/ingest-file';
import { applyAccountSpec } from '../../db/accounts';
import { HOUR_MS, isoHour } from '../../domain/time';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import type { UsageEstimatesResult } from '../../workflows/usage-estimates';
import { cloneTestDatabase } from '../support/db';
import { exampleSpecJson, parseSpec, rec, tempDir, TEST_AS_OF, writeFile } from '../support/fixtures';
import { spawnWorkerProcess, testClient, testWorker } from '../support/temporal';

let db: Knex;
let url: string;
let drop: () => Promise<void>;
let client: Client;
let closeClient: () => Promise<void>;
let sink: MailSink;
let files: string;

const OPS = 'ops@acme.example';
const MAIL_FROM = 'orgtally <alerts@orgtally.test>';
const DELIVERY = { initialRetryMs: 300, retryWindowMs: 120_000 };

beforeAll(async () => {
  ({ db, url, drop } = await cloneTestDatabase());
  // Delivery workflow ids are `delivery/<ledger id>` on a namespace other test files share: start far apart.
  await db.raw(`ALTER SEQUENCE deliveries_id_seq RESTART WITH ${randomInt(1_000_000, 1_000_000_000)}`);
  const spec = exampleSpecJson() as Record<string, unknown>;
  spec.alerts = [
    {
      id: 'spike',
      kind: 'spike',
      scope: { product: 'logs_ingested_bytes' },
      change_percent: 50,
      min_units: '20',
    },
    {
      id: 'drop',
      kind: 'drop',
      scope: { product: 'logs_ingested_bytes' },
      change_percent: 50,
      min_units: '10',
    },
    { id: 'stall', kind: 'stall' },
  ].map((r) => ({ ...r, recipients: [OPS] }));
  await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
  ({ client, close: closeClient } = await testClient());
  sink = await startMailSink();
  files = tempDir('estimates');
  // 1 GB an hour per org; client-b spikes to 5 on 2026-10-16; client-c sends nothing from 2026-10-17 on.
  const lines: string[] = [];
  for (let h = Date.parse('2026-10-01T00:00:00Z'); h < Date.parse('2026-10-23T00:00:00Z'); h += HOUR_MS) {
    const t = isoHour(h);
    lines.push(rec(t, 'client-a', 'logs_ingested_bytes', '1'));
    lines.push(rec(t, 'client-b', 'logs_ingested_bytes', t.startsWith('2026-10-16') ? '5' : '1'));
    if (h < Date.parse('2026-10-17T00:00:00Z')) lines.push(rec(t, 'client-c', 'logs_ingested_bytes', '1'));
  }
  await load(lines);
});
afterAll(async () => {
  await sink.close();
  await closeClient();
  await drop();
});

let n = 0;
async function load(lines: string[], replace = false): Promise<void> {
  await ingestFile(db, {
    path: writeFile(files, `f${++n}.ndjson`, lines),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
    ...(replace ? { replace } : {}),
  });
}

/** One hourly run to completion on a fresh in-process worker, then every delivery it started. */
async function hour(asOf: string, during?: (r: UsageEstimatesResult) => Promise<void>) {
  const { worker, taskQueue, close } = await testWorker(db, { SMTP_URL: sink.url, MAIL_FROM });
  try {
    return await worker.runUntil(async () => {
      const r: UsageEstimatesResult = await client.workflow.execute('usageEstimates', {
        taskQueue,
        workflowId: `estimates/acme/${asOf}`,
        args: [{ accountId: 'acme', asOf, delivery: DELIVERY }],
      });
      await during?.(r);
      await Promise.all(r.deliveries.map((d) => client.workflow.getHandle(`delivery/${d.id}`).result()));
      return r;
    });
  } finally {
    await close();
  }
}

const notices = (r: UsageEstimatesResult) =>
  r.alerts.notices.map((x) => `${x.ruleId} ${x.notify} ${x.scopeKey}`).sort();
const mails = async (from = 0) => Promise.all(sink.messages.slice(from).map((m) => simpleParser(m.raw)));
const ledgerRow = (id: string) => db('deliveries').where({ id }).first('status', 'attempts', 'message_id');

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('usageEstimates on a real Temporal server, alert mail over real SMTP', () => {
  it('stores the estimate and mails each alert once', async () => {
    const r = await hour('2026-10-20T12:00:00Z');
    expect(r.estimate).toMatchObject({ month: '2026-10', hoursElapsed: 19 * 24 + 12 });
    expect(notices(r)).toEqual([
      'spike fire org=client-b;product=logs_ingested_bytes',
      'stall fire org=client-c',
    ]);
    expect(r.deliveries.map((d) => d.started)).toEqual([true, true]);
    const got = await mails();
    expect(got.map((m) => m.subject).sort()).toEqual([
      '[orgtally] ALERT Acme MSP: data stopped arriving — Client C since Fri 16 Oct 2026, 23:00 UTC',
      '[orgtally] ALERT Acme MSP: usage spike — logs_ingested_bytes at Client B on Fri 16 Oct 2026',
    ]);
    const spike = got.find((m) => m.subject?.includes('spike'));
    expect(spike?.text?.replace(/\s+/g, ' ')).toContain(
      'was 120 GB against a median of 24 GB over the 14 complete days before: +96 GB (+400 %)',
    );
    for (const d of r.deliveries) {
      const row = await ledgerRow(d.id);
      expect(row).toMatchObject({ status: 'sent', attempts: 1 });
      expect(got.filter((m) => m.messageId === row.message_id)).toHaveLength(1);
    }
    if (process.env.ORGTALLY_RECORD_HISTORY) {
      const save = async (id: string, file: string) =>
        fs.writeFileSync(
          path.join(__dirname, '../replay/histories', file),
          historyToJSON(await client.workflow.getHandle(id).fetchHistory()),
        );
      await save('estimates/acme/2026-10-20T12:00:00Z', 'usage-estimates.json');
      await save(`delivery/${r.deliveries[0]?.id}`, 'delivery.json');
    }
  });

  it('a second evaluation of the same hour sends nothing', async () => {
    const before = sink.messages.length;
    const r = await hour('2026-10-20T12:00:00Z');
    expect(r.alerts.notices).toEqual([]);
    expect(r.deliveries).toEqual([]);
    expect(sink.messages.length).toBe(before);
  });

  it('a stalled org is reported as a stall, never as a drop', async () => {
    // 2026-10-17 is complete at 10-21 12:00: client-c sent nothing that day, client-b is back to normal
    const before = sink.messages.length;
    const r = await hour('2026-10-21T12:00:00Z');
    expect(notices(r)).toEqual(['spike resolve org=client-b;product=logs_ingested_bytes']);
    const got = await mails(before);
    expect(got.map((m) => m.subject)).toEqual([
      '[orgtally] RESOLVED Acme MSP: usage spike — logs_ingested_bytes at Client B on Fri 16 Oct 2026',
    ]);
    expect((await mails()).filter((m) => m.subject?.includes('drop'))).toEqual([]);
  });

  it('with the SMTP server down then up, the alert arrives exactly once', async () => {
    await load([rec('2026-10-21T10:00:00Z', 'client-c', 'logs_ingested_bytes', '1')]); // data again: resolves
    const before = sink.messages.length;
    await sink.refuse();
    const r = await hour('2026-10-21T13:00:00Z', async (res) => {
      expect(res.deliveries).toHaveLength(1);
      const id = res.deliveries[0]?.id as string;
      await until('three refused attempts', async () => (await ledgerRow(id)).attempts >= 3);
      expect(sink.messages.length).toBe(before);
      await sink.accept();
    });
    expect(notices(r)).toEqual(['stall resolve org=client-c']);
    const row = await ledgerRow(r.deliveries[0]?.id as string);
    expect(row.status).toBe('sent');
    expect(row.attempts).toBeGreaterThanOrEqual(4);
    const got = await mails(before);
    expect(got.map((m) => m.subject)).toEqual([
      '[orgtally] RESOLVED Acme MSP: data stopped arriving — Client C since Fri 16 Oct 2026, 23:00 UTC',
    ]);
  });

  it('a worker killed mid-delivery does not send twice', async () => {
    // client-a's 2026-10-18 restated to a tenth: a drop, evaluated at 10-22 12:00
    const restated: string[] = [];
    for (let h = Date.parse('2026-10-18T00:00:00Z'); h < Date.parse('2026-10-19T00:00:00Z'); h += HOUR_MS)
      restated.push(rec(isoHour(h), 'client-a', 'logs_ingested_bytes', '0.1'));
    await load(restated, true);
    const before = sink.messages.length;
    const taskQueue = `test-kill-${randomBytes(4).toString('hex')}`;
    sink.hold(); // the server keeps its reply to the message back: the send is in flight
    const child = spawnWorkerProcess({ databaseUrl: url, taskQueue, smtpUrl: sink.url, mailFrom: MAIL_FROM });
    try {
      const handle = await client.workflow.start('usageEstimates', {
        taskQueue,
        workflowId: 'estimates/acme/2026-10-22T12:00:00Z',
        args: [{ accountId: 'acme', asOf: '2026-10-22T12:00:00Z', delivery: DELIVERY }],
      });
      await until('the message in flight', () => sink.held === 1);
      child.kill('SIGKILL');
      await once(child, 'exit');
      await until('the server to see the client gone', () => sink.heldGone === 1);
      sink.release();
      expect(sink.dropped).toBe(1);
      // a second worker takes over (the delivery once its heartbeat timed out)
      const { worker, close } = await testWorker(db, {
        SMTP_URL: sink.url,
        MAIL_FROM,
        TEMPORAL_TASK_QUEUE: taskQueue,
      });
      let id = '';
      try {
        await worker.runUntil(async () => {
          const r: UsageEstimatesResult = await handle.result();
          expect(notices(r)).toEqual(['drop fire org=client-a;product=logs_ingested_bytes']);
          id = r.deliveries[0]?.id as string;
          await client.workflow.getHandle(`delivery/${id}`).result();
        });
      } finally {
        await close();
      }
      const row = await ledgerRow(id);
      expect(row.status).toBe('sent');
      const got = await mails(before);
      expect(got.map((m) => m.subject)).toEqual([
        '[orgtally] ALERT Acme MSP: usage drop — logs_ingested_bytes at Client A on Sun 18 Oct 2026',
      ]);
      expect(got[0]?.messageId).toBe(row.message_id);
    } finally {
      sink.release();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
