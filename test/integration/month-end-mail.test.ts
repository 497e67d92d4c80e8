import { parse } from 'csv-parse/sync';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { simpleParser } from 'mailparser';
import { compose } from '../../activities/deliveries';
import { planDeliveries } from '../../db/deliveries';
import { openMonthEndFile, requireVersion } from '../../db/month-end-report';
import { DEFAULT_FILE_MODES } from '../../domain/file-modes';
import { amount, money } from '../../domain/money';
import { CHART_CID } from '../../domain/month-end-mail';
import { PROJECT_ROOT } from '../../infra/config';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import { sendMail } from '../../infra/mail';
import { cloneTestDatabase } from '../support/db';
import { MAIL_KINDS, mailScenario, renderKind, type MailKind } from '../support/month-end-mails';

/**
 * The finance mail of each kind (final, provisional, restated) from a real close: its figures against the stored
 * rows, its text part against a golden file (UPDATE_GOLDEN=1 rewrites it), its attachments, its inline chart.
 */
let db: Knex;
let drop: () => Promise<void>;
let outputDir: string;
let sink: MailSink;
const GOLDEN = path.join(PROJECT_ROOT, 'test', 'golden', 'mail');
const KINDS = Object.keys(MAIL_KINDS) as MailKind[];

beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  ({ outputDir } = await mailScenario(db));
  sink = await startMailSink();
}, 120_000);
afterAll(async () => {
  await sink?.close();
  await db?.destroy();
  await drop?.();
});

async function sql<T>(q: string, b: Knex.RawBinding[]): Promise<T[]> {
  return (await db.raw(q, b)).rows as T[];
}

const total = async (month: string, version: number) =>
  (
    await sql<{ t: string }>(
      `SELECT sum(total_cost)::text AS t FROM month_end_totals WHERE account_id = 'acme' AND month = ? AND version = ?`,
      [`${month}-01`, version],
    )
  )[0]?.t as string;

describe('the month-end mail', () => {
  it.each(KINDS)(
    '%s: the subject and first lines carry the amount, the currency and the status',
    async (kind) => {
      const { month, version } = MAIL_KINDS[kind];
      const r = await renderKind(db, outputDir, kind);
      const amountText = money(await total(month, version), 'USD');
      expect(r.subject).toContain(amountText);
      expect(r.subject).toContain(kind === 'provisional' ? 'provisional' : 'final');
      expect(r.subject.includes('restated')).toBe(kind === 'restated');
      const head = r.text.split('\n').slice(0, 8).join('\n');
      expect(head).toContain(`Amount for `);
      expect(head).toContain(amountText);
      expect(head).toContain(kind === 'provisional' ? 'PROVISIONAL' : 'FINAL');
      expect(r.text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/); // no raw ISO instants
      for (const line of r.text.split('\n')) expect(line.length).toBeLessThan(100);
    },
  );

  it.each(KINDS)('%s: the text part equals its golden file', async (kind) => {
    const r = await renderKind(db, outputDir, kind);
    const file = path.join(GOLDEN, `month-end-${kind}.txt`);
    if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, r.text);
    expect(r.text).toBe(fs.readFileSync(file, 'utf8'));
  });

  it('unpriced products say "not priced" and are named as left out; every priced amount is the stored one', async () => {
    const r = await renderKind(db, outputDir, 'final');
    const rows = await sql<{ usage_type: string; priced: boolean; total_cost: string }>(
      `SELECT usage_type, (committed_price <> 0 OR on_demand_price <> 0) AS priced, total_cost::text
         FROM month_end_totals WHERE account_id = 'acme' AND month = '2026-10-01' AND version = 1`,
      [],
    );
    const unpriced = rows.filter((x) => !x.priced).map((x) => x.usage_type);
    expect(unpriced.length).toBeGreaterThan(0);
    expect(r.text.replace(/\s+/g, ' ')).toContain(
      `Not in the amount (no price): ${unpriced.sort().join(', ')}.`,
    );
    const lines = r.text.split('\n');
    for (const x of rows) {
      const line = lines.find((l) => l.startsWith(`${x.usage_type} `)) as string;
      if (x.priced) expect(line.endsWith(` ${amount(x.total_cost)}`)).toBe(true);
      else expect(line).toMatch(/not priced$/);
    }
  });

  it('chargeback per org equals the stored org rows, sub-orgs under their parent, with last month', async () => {
    const r = await renderKind(db, outputDir, 'restated');
    const orgs = await sql<{ public_id: string; org_name: string; now: string; prev: string }>(
      `SELECT o.public_id, max(o.org_name) AS org_name, sum(o.total_cost)::text AS now,
              (SELECT coalesce(sum(p.total_cost), 0)::text FROM month_end_orgs p
                WHERE p.account_id = 'acme' AND p.month = '2026-10-01' AND p.version = 1 AND p.public_id = o.public_id) AS prev
         FROM month_end_orgs o WHERE o.account_id = 'acme' AND o.month = '2026-11-01' AND o.version = 2
        GROUP BY o.public_id`,
      [],
    );
    const section = r.text.slice(r.text.indexOf('Chargeback by org'), r.text.indexOf('Cost per month'));
    for (const o of orgs) {
      const line = section.split('\n').find((l) => l.trim().startsWith(o.org_name)) as string;
      expect(line).toContain(` ${amount(o.now)} `);
      expect(line).toContain(` ${amount(o.prev)} `);
    }
    const idx = (name: string) => section.split('\n').findIndex((l) => l.trim().startsWith(name));
    const indent = (name: string) => (section.split('\n')[idx(name)] as string).search(/\S/);
    expect(idx('Client A EU')).toBe(idx('Client A') + 1);
    expect(indent('Client A EU')).toBeGreaterThan(indent('Client A'));
  });

  it('a restatement says the total before and after, and why orgs without new usage moved', async () => {
    const r = await renderKind(db, outputDir, 'restated');
    const [v1, v2] = [await total('2026-11', 1), await total('2026-11', 2)];
    expect(r.text).toContain(`said ${money(v1, 'USD')}; this version says ${money(v2, 'USD')}`);
    expect(r.text).toContain('Usage arrived or changed for Client B.');
    expect(r.text).toMatch(/Client A[^\n]*sent no new usage but moved too/);
  });

  it('files: the version in the names; month, version, status and currency in every row; one boolean spelling', async () => {
    const r = await renderKind(db, outputDir, 'restated');
    expect(r.files.map((f) => f.name)).toContain('month_end_acme_2026-11_v2_by_org.csv');
    const byOrg = r.files.find((f) => f.name.endsWith('_v2_by_org.csv'));
    const rows = parse(fs.readFileSync(byOrg?.path as string), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0] ?? {}).slice(0, 4)).toEqual(['month', 'version', 'status', 'currency']);
    expect(new Set(rows.map((x) => `${x.month}/${x.version}/${x.status}/${x.currency}`))).toEqual(
      new Set(['2026-11/2/final/USD']),
    );
    expect(new Set(rows.map((x) => x.billable))).toEqual(new Set(['true', 'false']));
  });

  it("a provisional mail gives the projected bill of the month's latest estimate run plus the committed cost", async () => {
    const r = await renderKind(db, outputDir, 'provisional');
    const [p] = await sql<{ t: string }>(
      `SELECT ((SELECT sum(projected_on_demand_cost) FROM estimate_totals
                 WHERE account_id = 'acme' AND as_of = (SELECT max(as_of) FROM estimate_runs
                                                         WHERE account_id = 'acme' AND month = '2026-11-01'))
             + (SELECT sum(committed_cost) FROM month_end_totals
                 WHERE account_id = 'acme' AND month = '2026-11-01' AND version = 1))::text AS t`,
      [],
    );
    expect(r.text).toContain(
      `Projected bill for the month: ${money(p?.t as string, 'USD')} (estimate of 30 November 2026, 12:00 UTC)`,
    );
    expect((await renderKind(db, outputDir, 'final')).text).not.toContain('Projected');
  });

  it('a version marked final in place keeps what it was issued with: the mail and every file, on disk and downloaded', async () => {
    const [v] = await sql<{ status: string; issued_status: string }>(
      `SELECT status, issued_status FROM month_end_versions WHERE account_id = 'acme' AND month = '2026-11-01' AND version = 1`,
      [],
    );
    expect(v).toEqual({ status: 'final', issued_status: 'provisional' });
    const r = await renderKind(db, outputDir, 'provisional');
    expect(r.subject).toMatch(/, provisional$/);
    const version = await requireVersion(db, 'acme', '2026-11', 1);
    for (const f of r.files) {
      const stream = await openMonthEndFile(db, version, f.name);
      const chunks: Buffer[] = [];
      for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
      expect(Buffer.concat(chunks).equals(fs.readFileSync(f.path))).toBe(true);
    }
    const csv = fs.readFileSync(r.files.find((f) => f.name.endsWith('_by_org.csv'))?.path as string, 'utf8');
    expect(csv.split('\n')[1]).toMatch(/^2026-11,1,provisional,USD,/);
  });

  it('over SMTP: the chart is a PNG attached inline under the Content-ID the HTML shows', async () => {
    const [d] = await planDeliveries(
      db,
      [
        {
          dedupeKey: 'test/restated',
          kind: 'month_end',
          accountId: 'acme',
          reference: MAIL_KINDS.restated,
          recipient: 'finance@acme.example',
        },
      ],
      'orgtally.test',
    );
    const deps = {
      db,
      outputDir,
      fileModes: DEFAULT_FILE_MODES,
      smtpUrl: sink.url,
      mailFrom: 'o@orgtally.test',
    };
    const mail = await compose(deps, d as NonNullable<typeof d>);
    const again = await compose(deps, d as NonNullable<typeof d>);
    expect(again.attachments[0]?.content?.equals(mail.attachments[0]?.content as Buffer)).toBe(true);
    await sendMail(sink.url, mail);
    const got = await simpleParser(sink.messages[sink.messages.length - 1]?.raw as Buffer, {
      keepCidLinks: true,
    });
    const png = got.attachments.find((a) => a.contentType === 'image/png');
    expect(png?.cid).toBe(CHART_CID);
    expect(png?.content.subarray(1, 4).toString()).toBe('PNG');
    expect(png?.content.readUInt32BE(16)).toBe(1120); // 560 px drawn at twice the size
    expect(String(got.html)).toContain(`src="cid:${CHART_CID}"`);
    expect(got.attachments.filter((a) => a.filename?.endsWith('.csv')).map((a) => a.filename)).toEqual([
      'month_end_acme_2026-11_v2_by_org.csv',
      'month_end_acme_2026-11_v2_by_tag.csv',
    ]);
  });
});
