import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Knex } from 'knex';
import { simpleParser, type ParsedMail } from 'mailparser';
import fs from 'node:fs';
import path from 'node:path';
import { ingestFile } from '../../activities/ingest-file';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import type { MonthEndCloseInput, MonthEndCloseResult } from '../../workflows/month-end-close';
import { cloneTestDatabase } from '../support/db';
import { applyExample, rec, tempDir, TEST_AS_OF, writeFile } from '../support/fixtures';
import { recordHistory, testClient, testWorker } from '../support/temporal';

let db: Knex;
let drop: () => Promise<void>;
let client: Client;
let closeClient: () => Promise<void>;
let sink: MailSink;
let outputDir: string;
let files: string;

const RECIPIENTS = ['cfo@acme.example', 'finance@acme.example'];
/** The demo spec's billing contacts: client A's and client B's statements follow each version's finance mails. */
const STATEMENTS = [
  ['client-a', 'billing@client-a.example'],
  ['client-b', 'ap@client-b.example'],
];
const AS_OF = '2026-11-28T00:00:00Z';

beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  await applyExample(db);
  ({ client, close: closeClient } = await testClient());
  sink = await startMailSink();
  outputDir = tempDir('month-end');
  files = tempDir('facts');
});
afterAll(async () => {
  await sink.close();
  await closeClient();
  await drop();
});

let n = 0;
const load = (lines: string[]) =>
  ingestFile(db, {
    path: writeFile(files, `f${++n}.ndjson`, lines),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
  });

/** Runs monthEndClose to completion on a fresh worker; `during` runs while the workflow is in flight. */
async function close(
  month: string,
  opts: { during?: () => Promise<void>; workflowId?: string } = {},
): Promise<MonthEndCloseResult> {
  const {
    worker,
    taskQueue,
    close: closeWorker,
  } = await testWorker(db, {
    OUTPUT_DIR: outputDir,
    SMTP_URL: sink.url,
    MAIL_FROM: 'orgtally <billing@orgtally.test>',
  });
  const input: MonthEndCloseInput = {
    accountId: 'acme',
    month,
    asOf: AS_OF,
    delivery: { initialRetryMs: 300, retryWindowMs: 120_000 },
  };
  try {
    return await worker.runUntil(async () => {
      const handle = await client.workflow.start('monthEndClose', {
        taskQueue,
        workflowId: opts.workflowId ?? `month-end/acme/${month}`,
        args: [input],
      });
      await opts.during?.();
      return handle.result();
    });
  } finally {
    await closeWorker();
  }
}

const parsed = (from: number) => Promise.all(sink.messages.slice(from).map((m) => simpleParser(m.raw)));
const toOf = (m: ParsedMail) => (m.to as { text: string }).text;
const isFinance = (m: ParsedMail) => RECIPIENTS.includes(toOf(m));
const statementsTo = (mails: ParsedMail[]) =>
  mails
    .filter((m) => !isFinance(m))
    .map(toOf)
    .sort();
const CONTACTS = STATEMENTS.map(([, to]) => to as string).sort();
const ledger = (month: string) =>
  db('deliveries')
    .where({ kind: 'month_end' })
    .whereRaw(`reference->>'month' = ?`, [month])
    .orderBy(['recipient', 'id'])
    .select(
      'recipient',
      'status',
      'attempts',
      'smtp_response',
      'message_id',
      db.raw(`reference->>'version' AS version`),
    );

function usage(month: string, extra = 0): string[] {
  return [
    rec(`${month}-03T10:00:00Z`, 'client-a', 'infra_hosts', 30 + extra, ['team:web', 'env:prod']),
    rec(`${month}-03T10:00:00Z`, 'client-b', 'infra_hosts', 12, ['team:data']),
    rec(`${month}-04T11:00:00Z`, 'client-a', 'logs_indexed_events', '60.5', ['team:web']),
    rec(`${month}-04T11:00:00Z`, 'trial-x', 'logs_indexed_events', 9, []),
    rec(`${month}-05T00:00:00Z`, 'acme', 'apm_hosts', 4, ['service:api']),
    rec(`${month}-05T00:00:00Z`, 'client-c', 'apm_ingested_bytes', 2000, ['service:api']),
  ];
}

describe('monthEndClose on a real Temporal server, mailing a real SMTP server', () => {
  let first: ParsedMail[];

  it('attributes the month, closes it and mails each finance recipient once with every attachment', async () => {
    await load(usage('2026-10'));
    const r = await close('2026-10');
    expect(r.close).toMatchObject({ outcome: 'created', version: 1, status: 'final' });
    expect(r.attributedDays).toHaveLength(31);
    expect(r.deliveries.map((d) => [d.recipient, d.status])).toEqual(RECIPIENTS.map((x) => [x, 'sent']));
    expect(r.statements.map((d) => [d.org, d.recipient, d.status])).toEqual(
      STATEMENTS.map((x) => [...x, 'sent']),
    );
    const all = await parsed(0);
    expect(statementsTo(all)).toEqual(CONTACTS);
    first = all.filter(isFinance);
    expect(first.map((m) => (m.to as { text: string }).text).sort()).toEqual(RECIPIENTS);
    for (const m of first) {
      expect(m.subject).toMatch(/^\[orgtally\] Acme MSP: October 2026 month-end, USD [\d,]+\.\d\d, final$/);
      expect(m.attachments.map((a) => a.filename).sort()).toEqual([
        'month_end_acme_2026-10_v1_by_org.csv',
        'month_end_acme_2026-10_v1_by_tag.csv',
        'summary_env_2026-10_v1.tsv',
        'summary_service_2026-10_v1.tsv',
        'summary_team_2026-10_v1.tsv',
      ]);
      expect(m.html).not.toMatch(/<script/i);
      expect(m.text).toContain('Amount for October 2026: USD ');
      expect(m.messageId).toMatch(/@orgtally\.test>?$/);
    }
    // The attachments are the files written next to the preview, byte for byte.
    const dir = path.join(outputDir, 'month-end', 'acme', '2026-10', 'v1');
    const byOrg = first[0]?.attachments.find((a) => a.filename?.endsWith('_by_org.csv'));
    expect(byOrg?.content.toString()).toBe(
      fs.readFileSync(path.join(dir, 'month_end_acme_2026-10_v1_by_org.csv'), 'utf8'),
    );
    expect(fs.existsSync(path.join(dir, 'report.html'))).toBe(true);
    const team = fs.readFileSync(path.join(dir, 'summary_team_2026-10_v1.tsv'), 'utf8').split('\n');
    expect(team[0]?.split('\t').slice(0, 3)).toEqual(['public_id', 'org_name', 'team']);
    expect(team[1]?.split('\t').slice(0, 3)).toEqual(['acme', 'All organizations', '<all>']);
    expect(await ledger('2026-10')).toEqual(
      RECIPIENTS.map((recipient) => expect.objectContaining({ recipient, status: 'sent', attempts: 1 })),
    );
    await recordHistory(client, 'trends/acme/2026-10', 'six-month-trends.json');
    if (process.env.ORGTALLY_RECORD_HISTORY) {
      const history = await client.workflow.getHandle('month-end/acme/2026-10').fetchHistory();
      fs.writeFileSync(
        path.join(__dirname, '../replay/histories/month-end-close.json'),
        historyToJSON(history),
      );
    }
  });

  it('running the close again sends nothing and writes no version', async () => {
    const before = sink.messages.length;
    const r = await close('2026-10');
    expect(r.close).toMatchObject({ outcome: 'unchanged', version: 1 });
    expect(r.attributedDays).toEqual([]);
    expect(sink.messages.length).toBe(before);
    expect(await db('month_end_versions').where({ account_id: 'acme', month: '2026-10-01' })).toHaveLength(1);
  });

  it('late data for a closed month: version 2 and a "restated" mail listing the differences', async () => {
    const before = sink.messages.length;
    await load([rec('2026-10-20T09:00:00Z', 'client-b', 'logs_indexed_events', 20, ['team:data'])]);
    const r = await close('2026-10');
    expect(r.close).toMatchObject({ outcome: 'created', version: 2, previousVersion: 1 });
    expect(r.attributedDays).toEqual(['2026-10-20']);
    const all = await parsed(before);
    const mails = all.filter(isFinance);
    expect(mails).toHaveLength(2);
    // the two statements go out in parallel: compared by recipient
    expect(
      all
        .filter((m) => !isFinance(m))
        .map((m) => `${toOf(m)} ${m.subject}`)
        .sort(),
    ).toEqual([
      'ap@client-b.example [orgtally] Client B: statement for October 2026 (restated, version 2)',
      'billing@client-a.example [orgtally] Client A: statement for October 2026 (restated, version 2)',
    ]);
    for (const m of mails) {
      expect(m.subject).toMatch(
        /^\[orgtally\] Acme MSP: October 2026 month-end, USD [\d,.]+, restated \(version 2\), final$/,
      );
      expect(m.text).toContain('What changed since version 1');
      expect(m.text).toMatch(/Usage arrived or changed for [^\n]*Client B/);
      expect(m.text).toMatch(/Client B +0\.00 +40\.44 +\+40\.44/);
      expect(m.messageId).not.toBe(first[0]?.messageId);
    }
  });

  it('with the SMTP server refusing connections for a while, each mail arrives exactly once after it returns', async () => {
    await load(usage('2026-09'));
    const before = sink.messages.length;
    await sink.refuse();
    const r = await close('2026-09', {
      during: async () => {
        // wait until both deliveries have failed at least once, then let the server come back
        for (let i = 0; i < 100; i++) {
          const rows = await ledger('2026-09');
          if (rows.length === 2 && rows.every((x) => x.attempts >= 2)) break;
          await new Promise((res) => setTimeout(res, 200));
        }
        await sink.accept();
      },
    });
    expect(r.deliveries.map((d) => d.status)).toEqual(['sent', 'sent']);
    expect(r.statements.map((d) => d.status)).toEqual(['sent', 'sent']);
    const mails = await parsed(before);
    expect(mails.filter(isFinance).map(toOf).sort()).toEqual(RECIPIENTS);
    expect(statementsTo(mails)).toEqual(CONTACTS);
    const rows = await ledger('2026-09');
    expect(rows.every((x) => x.status === 'sent' && x.attempts >= 3)).toBe(true);
  });

  it('a permanent 5xx is recorded in the ledger and not retried', async () => {
    await load(usage('2026-08'));
    const before = sink.messages.length;
    sink.rejectWith(550, 'mailbox unavailable');
    try {
      const r = await close('2026-08');
      expect(r.close).toMatchObject({ outcome: 'created', version: 1 });
      expect(r.deliveries.map((d) => [d.status, d.detail])).toEqual([
        ['failed', expect.stringMatching(/SMTP 550/)],
        ['failed', expect.stringMatching(/SMTP 550/)],
      ]);
      expect(r.statements.map((d) => d.status)).toEqual(['failed', 'failed']);
    } finally {
      sink.rejectWith(undefined);
    }
    expect(sink.messages.length).toBe(before);
    expect(await ledger('2026-08')).toEqual(
      RECIPIENTS.map((recipient) =>
        expect.objectContaining({
          recipient,
          status: 'failed',
          attempts: 1,
          smtp_response: expect.stringMatching(/550.*mailbox unavailable/),
        }),
      ),
    );
  });

  it('database sessions cut while the mails are in flight: each recipient still gets exactly one', async () => {
    await load(usage('2026-07'));
    const before = sink.messages.length;
    sink.hold(); // the server keeps its replies back: both sends are in flight
    let cut = 0;
    try {
      const r = await close('2026-07', {
        during: async () => {
          for (let i = 0; i < 300 && sink.held < 2; i++) await new Promise((res) => setTimeout(res, 100));
          expect(sink.held).toBe(2);
          // Every other session of this database goes (a failover, an idle-in-transaction timeout would too).
          const { rows } = await db.raw(
            `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()`,
          );
          cut = rows[0].n;
          sink.release();
        },
      });
      expect(r.deliveries.map((d) => d.status)).toEqual(['sent', 'sent']);
      expect(r.statements.map((d) => d.status)).toEqual(['sent', 'sent']);
    } finally {
      sink.release();
    }
    expect(cut).toBeGreaterThan(0);
    const mails = await parsed(before);
    expect(mails.filter(isFinance).map(toOf).sort()).toEqual(RECIPIENTS);
    expect(statementsTo(mails)).toEqual(CONTACTS);
    expect(await ledger('2026-07')).toEqual(
      RECIPIENTS.map((recipient) => expect.objectContaining({ recipient, status: 'sent', attempts: 1 })),
    );
  });
});
