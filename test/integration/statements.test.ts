import { MockActivityEnvironment } from '@temporalio/testing';
import type { Knex } from 'knex';
import { simpleParser, type ParsedMail } from 'mailparser';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { composeStatement } from '../../activities/compose-statement';
import { deliveryActivities } from '../../activities/deliveries';
import { ingestStream } from '../../activities/ingest-file';
import { statementActivities, type PlannedStatement } from '../../activities/statements';
import { applyAccountSpec } from '../../db/accounts';
import { attributeDay } from '../../db/attribution';
import type { Delivery } from '../../db/deliveries';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { readStatement, statementReferences } from '../../db/statement';
import { canonicalDecimal } from '../../domain/decimal';
import { DEFAULT_FILE_MODES } from '../../domain/file-modes';
import { amount } from '../../domain/money';
import { renderStatement } from '../../domain/statement-mail';
import { PROJECT_ROOT } from '../../infra/config';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import { launchBrowser } from '../support/browser';
import { cloneTestDatabase } from '../support/db';
import { exampleSpecJson, parseSpec, rec, tempDir, TEST_AS_OF } from '../support/fixtures';

/**
 * Client statements on a real database and a real SMTP server: October 2026 of the demo spec closed, each client
 * org with a billing contact mailed its own statement once per version, never a figure or a name of an org
 * outside its subtree. Expected figures are read from month_end_orgs here, not from the statement's own reads.
 */
const MONTH = '2026-10';
const AFTER = '2026-11-28T00:00:00Z'; // October is past its lateness window: final
const MAIL_FROM = 'orgtally <billing@orgtally.test>';
const GOLDEN = path.join(PROJECT_ROOT, 'test', 'golden', 'statements');
const SHOTS = path.join(PROJECT_ROOT, 'docs', 'screenshots');

let db: Knex;
let drop: () => Promise<void>;
let sink: MailSink;
const env = new MockActivityEnvironment();

beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  await applyAccountSpec(db, parseSpec(exampleSpecJson()), { asOfMs: TEST_AS_OF });
  await ingest(octoberUsage());
  await close();
  sink = await startMailSink();
}, 120_000);
afterAll(async () => {
  await sink?.close();
  await drop();
});

/** Hosts and averages every hour (p99 and avg need the whole month); sums once. */
function octoberUsage(): string[] {
  const hourly: [string, string, number][] = [
    ['client-a', 'infra_hosts', 30],
    ['client-a', 'custom_metrics', 120], // not priced
    ['client-a-eu', 'infra_hosts', 8],
    ['client-a-eu', 'containers', 5], // not priced
    ['client-b', 'infra_hosts', 12],
    ['client-c', 'infra_hosts', 5],
    ['acme', 'apm_hosts', 4],
    ['trial-x', 'infra_hosts', 2],
  ];
  const lines: string[] = [];
  for (let t = Date.parse(`${MONTH}-01T00:00:00Z`); t < Date.parse('2026-11-01T00:00:00Z'); t += 3_600_000) {
    const ts = new Date(t).toISOString();
    for (const [org, product, v] of hourly) lines.push(rec(ts, org, product, v, ['team:web']));
  }
  lines.push(
    rec(`${MONTH}-04T11:00:00Z`, 'client-a', 'logs_indexed_events', '60.5', ['team:web']),
    rec(`${MONTH}-04T11:00:00Z`, 'client-b', 'logs_indexed_events', 20, ['team:data']),
    rec(`${MONTH}-05T00:00:00Z`, 'client-c', 'apm_ingested_bytes', 2000, ['service:api']),
    rec(`${MONTH}-06T00:00:00Z`, 'trial-x', 'logs_indexed_events', 9, []),
  );
  return lines;
}

let batch = 0;
async function ingest(lines: string[]) {
  const r = await ingestStream(db, {
    source: `statements-${++batch}.ndjson`,
    stream: Readable.from([lines.map((l) => `${l}\n`).join('')]),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
  });
  expect(r.quarantined).toBe(0);
}

async function close(): Promise<number> {
  for (const day of (await monthDays(db, 'acme', MONTH)).toAttribute)
    await attributeDay(db, { accountId: 'acme', day });
  const r = await closeMonth(db, { accountId: 'acme', month: MONTH, asOf: AFTER });
  if (r.outcome === 'incomplete') throw new Error(`incomplete: ${r.days.join(', ')}`);
  return r.version;
}

const deps = () => ({
  db,
  outputDir: tempDir('statements'),
  fileModes: DEFAULT_FILE_MODES,
  smtpUrl: sink.url,
  mailFrom: MAIL_FROM,
});
const plan = (version: number): Promise<PlannedStatement[]> =>
  env.run(statementActivities({ db, mailDomain: 'orgtally.test' }).planStatementDeliveries, {
    accountId: 'acme',
    month: MONTH,
    version,
  });
const send = (id: string) => env.run(deliveryActivities(deps()).sendDelivery, { deliveryId: id });
const ledgerRow = (id: string): Promise<Delivery> =>
  db('deliveries').where({ id }).first(db.raw('id::text AS id, *'));
const parsed = (from: number): Promise<ParsedMail[]> =>
  Promise.all(sink.messages.slice(from).map((m) => simpleParser(m.raw)));
const toOf = (m: ParsedMail) => (m.to as { text: string }).text;

/** The demo spec's orgs, and each one's subtree computed here from the spec's parents. */
const SPEC_ORGS = (exampleSpecJson().orgs as { id: string; name: string; parent?: string }[]).map((o) => ({
  id: o.id,
  name: o.name,
  parent: o.parent ?? null,
}));
function subtreeOf(id: string): string[] {
  const out = [id];
  for (let i = 0; i < out.length; i++)
    for (const o of SPEC_ORGS) if (o.parent === out[i] && !out.includes(o.id)) out.push(o.id);
  return out;
}

/** month_end_orgs rows of the orgs, read directly. */
async function storedRows(version: number, orgs: string[]) {
  return db('month_end_orgs')
    .where({ account_id: 'acme', month: `${MONTH}-01`, version })
    .whereIn('public_id', orgs)
    .select(
      'public_id',
      'usage_type',
      db.raw('billable_usage::text, committed_usage::text, on_demand_usage::text'),
      db.raw('committed_cost::text, on_demand_cost::text, total_cost::text'),
    );
}

/** `USD 1,234.50` / `1,234.5 host` → `1234.5` (canonical), or `not priced`. */
const num = (s: string): string => (s === 'not priced' ? s : canonicalDecimal(s.replace(/[^\d.-]/g, '')));

interface ParsedLine {
  quantity: string;
  amount: string;
  committed: [string, string];
  on_demand: [string, string];
}
/** Reads the text part back: per org section, per product its figures; subtotals; the total. */
function readText(text: string) {
  const orgs = new Map<string, { lines: Map<string, ParsedLine>; subtotal?: string }>();
  let org: { lines: Map<string, ParsedLine>; subtotal?: string } | undefined;
  let line: ParsedLine | undefined;
  let total: string | undefined;
  for (const l of text.split('\n')) {
    const section = /^ *[^ ].* \(([a-z0-9-]+)\)$/.exec(l);
    const product = /^ +([a-z_]+): (.+?) {2,}(USD [\d,.]+|not priced)$/.exec(l);
    const detail = /^ +(committed|on-demand) {2,}(.+?), (USD [\d,.]+|not priced)$/.exec(l);
    if (section) orgs.set(section[1] as string, (org = { lines: new Map() }));
    else if (product && org) {
      line = { quantity: num(product[2] as string), amount: num(product[3] as string) } as ParsedLine;
      org.lines.set(product[1] as string, line);
    } else if (detail && line) {
      const pair: [string, string] = [num(detail[2] as string), num(detail[3] as string)];
      if (detail[1] === 'committed') line.committed = pair;
      else line.on_demand = pair;
    } else if (/^ +Subtotal /.test(l) && org) org.subtotal = num(/(USD [\d,.]+)$/.exec(l)?.[1] ?? '');
    else if (/^Total /.test(l)) total = num(/(USD [\d,.]+)$/.exec(l)?.[1] ?? '');
  }
  return { orgs, total };
}

let v1: PlannedStatement[];

describe('a client org statement (October 2026, version 1)', () => {
  it('plans one statement per client org with a billing contact: client-a and client-b of the demo spec', async () => {
    v1 = await plan(1);
    expect(v1.map((d) => [d.org, d.recipient, d.status])).toEqual([
      ['client-a', 'billing@client-a.example', 'pending'],
      ['client-b', 'ap@client-b.example', 'pending'],
    ]);
    const row = await ledgerRow(v1[0]?.id as string);
    expect(row).toMatchObject({
      kind: 'statement',
      dedupe_key: 'statement/acme/2026-10/v1/client-a/billing@client-a.example',
      reference: expect.objectContaining({ month: MONTH, version: 1, org: 'client-a' }),
    });
    expect((row.reference as { scope: { public_id: string }[] }).scope.map((o) => o.public_id)).toEqual([
      'client-a',
      'client-a-eu',
    ]);
  });

  it("shows the stored rows of the org's subtree: every figure, subtotal and the total", async () => {
    for (const d of v1) {
      const { text } = await composeStatement(deps(), await ledgerRow(d.id));
      const got = readText(text);
      const orgs = subtreeOf(d.org);
      const rows = await storedRows(1, orgs);
      expect(rows.length).toBeGreaterThan(0);
      // every section is an org of the subtree, and every org of the subtree has its section
      expect([...got.orgs.keys()].sort()).toEqual([...orgs].sort());
      for (const r of rows) {
        const l = got.orgs.get(r.public_id)?.lines.get(r.usage_type);
        const priced = !['custom_metrics', 'containers'].includes(r.usage_type);
        const cost = (v: string) => (priced ? canonicalDecimal(v) : 'not priced');
        expect([r.public_id, r.usage_type, l]).toEqual([
          r.public_id,
          r.usage_type,
          {
            quantity: canonicalDecimal(r.billable_usage),
            amount: cost(r.total_cost),
            committed: [canonicalDecimal(r.committed_usage), cost(r.committed_cost)],
            on_demand: [canonicalDecimal(r.on_demand_usage), cost(r.on_demand_cost)],
          },
        ]);
      }
      for (const o of orgs)
        expect(got.orgs.get(o)?.lines.size).toBe(rows.filter((r) => r.public_id === o).length);
      const { rows: sums } = await db.raw(
        `SELECT public_id, sum(total_cost)::text AS s FROM month_end_orgs
          WHERE account_id = 'acme' AND month = ? AND version = 1 AND public_id = ANY(?) GROUP BY ROLLUP (public_id)`,
        [`${MONTH}-01`, orgs],
      );
      const byOrg = new Map(
        (sums as { public_id: string | null; s: string }[]).map((x) => [x.public_id, x.s]),
      );
      expect(got.total).toBe(canonicalDecimal(byOrg.get(null) as string));
      if (orgs.length > 1)
        for (const o of orgs) expect(got.orgs.get(o)?.subtotal).toBe(canonicalDecimal(byOrg.get(o) ?? '0'));
    }
  });

  it('says "not priced" for products without a price (never 0.00) and puts the currency on every amount', async () => {
    const d = v1.find((x) => x.org === 'client-a') as PlannedStatement;
    const { text, html } = await composeStatement(deps(), await ledgerRow(d.id));
    expect(text).toMatch(/^ +custom_metrics: 120 metrics +not priced$/m);
    expect(text).toMatch(/^ +containers: 5 containers +not priced$/m);
    expect(text).toMatch(/^ +unit price +not priced$/m);
    expect(text).toMatch(/^ +unit price +USD 15\.00 committed, USD 18\.00 on-demand, per host$/m);
    expect(text).toMatch(/^Not priced: containers, custom_metrics /m);
    expect(html).toMatch(/<strong[^>]*>custom_metrics<\/strong> 120 metrics.*?not priced/s);
    const units = ['host', 'metric', 'container', 'million events', 'GB'];
    const plain = html.replace(/<[^>]+>/g, ' ').replace(/&nbsp;/g, ' ');
    for (const part of [text, plain]) {
      // every number with two decimals is money (after a currency code) or a quantity (before its unit)
      const amounts = [...part.matchAll(/(?<![\d.,])(\d{1,3}(?:,\d{3})*\.\d{2})(?![\d])/g)];
      expect(amounts.length).toBeGreaterThan(5);
      for (const m of amounts) {
        const before = part.slice(Math.max(0, (m.index ?? 0) - 4), m.index);
        const after = part.slice((m.index ?? 0) + (m[1] as string).length);
        expect([m[1], before === 'USD ' || units.some((u) => after.startsWith(` ${u}`))]).toEqual([
          m[1],
          true,
        ]);
      }
      expect(part).not.toMatch(/custom_metrics[^\n]*0\.00/);
    }
  });

  it('keeps every text line under 100 columns, and the text part matches its golden file', async () => {
    for (const d of v1) {
      const { text } = await composeStatement(deps(), await ledgerRow(d.id));
      const long = text.split('\n').filter((l) => l.length >= 100);
      expect(long).toEqual([]);
    }
    const a = v1.find((x) => x.org === 'client-a') as PlannedStatement;
    golden('client-a-2026-10-v1.txt', (await composeStatement(deps(), await ledgerRow(a.id))).text);
  });

  it('renders the same bytes on every attempt', async () => {
    const row = await ledgerRow(v1[0]?.id as string);
    const [x, y] = [await composeStatement(deps(), row), await composeStatement(deps(), row)];
    expect([y.subject, y.text, y.html]).toEqual([x.subject, x.text, x.html]);
  });
});

describe('the ledger: one statement per contact and version', () => {
  it('mails each contact once; planning and sending again sends nothing', async () => {
    const before = sink.messages.length;
    for (const d of v1) expect(await send(d.id)).toMatchObject({ status: 'sent', alreadySent: false });
    const mails = await parsed(before);
    expect(mails.map((m) => [toOf(m), m.subject])).toEqual([
      ['billing@client-a.example', '[orgtally] Client A: statement for October 2026 (final)'],
      ['ap@client-b.example', '[orgtally] Client B: statement for October 2026 (final)'],
    ]);
    for (const m of mails) {
      expect(m.html).toBeTruthy();
      expect(m.text).toMatch(/^Final, complete through 31 October 2026$/m);
      expect(m.messageId).toMatch(/@orgtally\.test>?$/);
    }
    const again = await plan(1);
    expect(again.map((d) => [d.id, d.status])).toEqual(v1.map((d) => [d.id, 'sent']));
    for (const d of v1) expect(await send(d.id)).toMatchObject({ status: 'sent', alreadySent: true });
    expect(sink.messages.length).toBe(before + 2);
    expect(await db('deliveries').where({ kind: 'statement' }).count({ n: '*' })).toEqual([{ n: '2' }]);
  });

  it('a restated month (v2) gives each contact one more statement, "restated" in its subject', async () => {
    await ingest([rec(`${MONTH}-20T09:00:00Z`, 'client-b', 'logs_indexed_events', 20, ['team:data'])]);
    expect(await close()).toBe(2);
    const before = sink.messages.length;
    const v2 = await plan(2);
    expect(v2.map((d) => [d.org, d.recipient, d.status])).toEqual([
      ['client-a', 'billing@client-a.example', 'pending'],
      ['client-b', 'ap@client-b.example', 'pending'],
    ]);
    for (const d of v2) await send(d.id);
    for (const d of v2) expect(await send(d.id)).toMatchObject({ alreadySent: true });
    const mails = await parsed(before);
    expect(mails.map((m) => [toOf(m), m.subject])).toEqual([
      ['billing@client-a.example', '[orgtally] Client A: statement for October 2026 (restated, version 2)'],
      ['ap@client-b.example', '[orgtally] Client B: statement for October 2026 (restated, version 2)'],
    ]);
    for (const m of mails)
      expect(m.text).toMatch(/^Restated v2 \(final\), complete through 31 October 2026$/m);
    // client B's late logs are in its v2 statement: 40 million events, where v1 said 20
    expect(
      readText(mails[1]?.text ?? '')
        .orgs.get('client-b')
        ?.lines.get('logs_indexed_events')?.quantity,
    ).toBe('40');
    const { rows } = await db.raw(
      `SELECT recipient, reference->>'version' AS version, count(*)::int AS n, bool_and(status = 'sent') AS sent
         FROM deliveries WHERE kind = 'statement' GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { recipient: 'ap@client-b.example', version: '1', n: 1, sent: true },
      { recipient: 'ap@client-b.example', version: '2', n: 1, sent: true },
      { recipient: 'billing@client-a.example', version: '1', n: 1, sent: true },
      { recipient: 'billing@client-a.example', version: '2', n: 1, sent: true },
    ]);
    expect(sink.messages.length).toBe(before + 2);
  });
});

describe('scope: every org of the demo spec with a billing contact', () => {
  it("never shows another org's name or public id, nor the account's total", async () => {
    const spec = exampleSpecJson() as { orgs: Record<string, unknown>[] };
    for (const o of spec.orgs) o.billing_contact = `statements@${String(o.id)}.example`;
    await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
    for (const version of [1, 2]) {
      const refs = await statementReferences(db, { accountId: 'acme', month: MONTH, version });
      // the root org gets none: its statement would be the account's (the finance mail)
      expect(refs.map((r) => r.reference.org).sort()).toEqual(
        SPEC_ORGS.filter((o) => o.parent)
          .map((o) => o.id)
          .sort(),
      );
      const { rows } = await db.raw(
        `SELECT sum(total_cost)::text AS t FROM month_end_totals WHERE account_id = 'acme' AND month = ? AND version = ?`,
        [`${MONTH}-01`, version],
      );
      const accountTotal = amount(rows[0].t);
      for (const { reference } of refs) {
        const inside = new Set(subtreeOf(reference.org));
        expect(reference.scope.map((o) => o.public_id).sort()).toEqual([...inside].sort());
        const { model } = await readStatement(db, 'acme', reference);
        const mail = renderStatement(model);
        // what may appear: the subtree's names and ids (removed longest first: "Client A EU" holds "Client A")
        const allowed = SPEC_ORGS.filter((o) => inside.has(o.id))
          .flatMap((o) => [o.name, o.id])
          .sort((a, b) => b.length - a.length);
        const outside = SPEC_ORGS.filter((o) => !inside.has(o.id)).flatMap((o) => [o.name, o.id]);
        for (const [part, body] of Object.entries(mail)) {
          let rest = body;
          for (const a of allowed) rest = rest.split(a).join('');
          for (const x of [...outside, accountTotal])
            expect([reference.org, part, x, rest.includes(x)]).toEqual([reference.org, part, x, false]);
        }
        expect(mail.text).toContain(`${model.scope[0]?.name} (${reference.org})`);
        for (const l of mail.text.split('\n')) expect(l.length).toBeLessThan(100);
      }
    }
  });
});

function golden(file: string, actual: string): void {
  const at = path.join(GOLDEN, file);
  if (process.env.UPDATE_GOLDEN === '1' || !fs.existsSync(at)) {
    if (process.env.UPDATE_GOLDEN !== '1')
      throw new Error(`no golden file ${at}: run with UPDATE_GOLDEN=1 and review it`);
    fs.mkdirSync(GOLDEN, { recursive: true });
    fs.writeFileSync(at, actual);
    return;
  }
  expect(`${file}\n${actual}`).toBe(`${file}\n${fs.readFileSync(at, 'utf8')}`);
}

// ORGTALLY_SCREENSHOTS=1: client A's statement at 800 and 400 px for docs/statements.md (a phone must not scroll
// sideways).
(process.env.ORGTALLY_SCREENSHOTS === '1' ? it : it.skip)('screenshots of the HTML part', async () => {
  const a = v1.find((x) => x.org === 'client-a') as PlannedStatement;
  const { html } = await composeStatement(deps(), await ledgerRow(a.id));
  const browser = await launchBrowser();
  try {
    for (const width of [800, 400]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.setContent(html);
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      await page.screenshot({ path: path.join(SHOTS, `mail-statement-${width}.png`), fullPage: true });
      await page.close();
    }
  } finally {
    await browser.close();
  }
});
