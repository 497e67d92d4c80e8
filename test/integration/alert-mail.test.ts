import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import { simpleParser, type ParsedMail } from 'mailparser';
import { compose } from '../../activities/deliveries';
import type { DeliveryDeps } from '../../activities/deliveries';
import { ingestStream } from '../../activities/ingest-file';
import { applyAccountSpec } from '../../db/accounts';
import { alertMailData } from '../../db/alert-mail-data';
import { evaluateAlerts } from '../../db/alerts';
import { getDelivery } from '../../db/deliveries';
import { computeEstimates } from '../../db/estimates';
import { refreshRollup } from '../../db/usage-rollup';
import { renderAlertMail } from '../../domain/alert-mail';
import { DEFAULT_FILE_MODES } from '../../domain/file-modes';
import { money, signedMoney } from '../../domain/money';
import { HOUR_MS, isoHour } from '../../domain/time';
import { PROJECT_ROOT } from '../../infra/config';
import { sendMail, type OutgoingMail } from '../../infra/mail';
import { startMailSink, type MailSink } from '../../infra/mail-sink';
import { cloneTestDatabase } from '../support/db';
import { exampleSpecJson, parseSpec, rec, tempDir, TEST_AS_OF } from '../support/fixtures';

/**
 * Alert mails built from real rows: usage ingested, rolled up, estimated and judged by the account's rules; each
 * notice composed from its event row and sent over SMTP to the in-process server, then read back as a client
 * reads it. The money figures are recomputed here from the facts and the commitments, not from the estimate.
 */

let db: Knex;
let drop: () => Promise<void>;
let sink: MailSink;
let deps: DeliveryDeps;

const GOLDEN = path.join(PROJECT_ROOT, 'test', 'golden', 'alert-mail');
const OPS = ['ops@acme.example'];
const FROM = Date.parse('2026-10-01T00:00:00Z');
const TO = Date.parse('2026-10-21T00:00:00Z');
const AS_OF = '2026-10-20T12:00:00Z';
const SPIKE_DAY = '2026-10-16';

const RULES = [
  // priced (2.55 on demand, 50 committed): the account's projection is above the limit and the commitment
  {
    id: 'events-projected',
    kind: 'threshold',
    scope: { product: 'logs_indexed_events' },
    measure: 'projected',
    above: '100',
  },
  // not priced, one org, tag-filtered
  {
    id: 'b-prod-logs',
    kind: 'threshold',
    scope: { org: 'client-b', product: 'logs_ingested_bytes', tags: ['env:prod'] },
    above: '500',
  },
  // priced (0.10 on demand)
  {
    id: 'apm-spike',
    kind: 'spike',
    scope: { product: 'apm_ingested_bytes' },
    change_percent: 50,
    min_units: '20',
  },
  // not priced
  {
    id: 'logs-spike',
    kind: 'spike',
    scope: { product: 'logs_ingested_bytes' },
    change_percent: 50,
    min_units: '20',
  },
].map((r) => ({ ...r, recipients: OPS }));

function lines(): string[] {
  const out: string[] = [];
  for (let h = FROM; h < TO; h += HOUR_MS) {
    const t = isoHour(h);
    const spike = t.startsWith(SPIKE_DAY);
    out.push(rec(t, 'client-a', 'logs_indexed_events', '0.1'));
    out.push(rec(t, 'client-b', 'logs_indexed_events', '0.0537'));
    out.push(rec(t, 'trial-x', 'logs_indexed_events', '1')); // not billable: never in the account's figure
    out.push(rec(t, 'client-a', 'logs_ingested_bytes', '1'));
    out.push(rec(t, 'client-b', 'logs_ingested_bytes', spike ? '5' : '1', ['env:prod']));
    out.push(rec(t, 'client-b', 'logs_ingested_bytes', '1', ['env:dev']));
    out.push(rec(t, 'client-a', 'apm_ingested_bytes', spike ? '4.37' : '1'));
  }
  return out;
}

interface Sent {
  ruleId: string;
  mail: OutgoingMail;
  parsed: ParsedMail;
}
const sent = new Map<string, Sent>();

beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  sink = await startMailSink();
  deps = {
    db,
    outputDir: tempDir('alert-mail'),
    fileModes: DEFAULT_FILE_MODES,
    smtpUrl: sink.url,
    mailFrom: 'orgtally <alerts@orgtally.test>',
  };
  const spec = exampleSpecJson() as Record<string, unknown>;
  spec.alerts = RULES;
  // The prices and currency the figures below depend on, stated here rather than inherited from the example.
  spec.account = { ...(spec.account as object), currency: 'EUR' };
  spec.commitments = [
    { product: 'logs_indexed_events', quantity: 50, committed_price: '1.70', on_demand_price: '2.55' },
    { product: 'apm_ingested_bytes', quantity: 100, committed_price: '0.10', on_demand_price: '0.10' },
  ];
  await applyAccountSpec(db, parseSpec(spec), { asOfMs: TEST_AS_OF });
  const r = await ingestStream(db, {
    source: 'usage.ndjson',
    stream: Readable.from(lines().map((x) => `${x}\n`)),
    format: 'ndjson',
    asOfMs: TO,
    retentionDays: 400,
  });
  expect(r.quarantined).toBe(0);
  await refreshRollup(db);
  await computeEstimates(db, 'acme', AS_OF);
  const run = await evaluateAlerts(db, { accountId: 'acme', asOf: AS_OF }, 'acme.example');
  expect(run.notices.map((n) => `${n.ruleId} ${n.notify} ${n.scopeKey}`).sort()).toEqual([
    'apm-spike fire org=client-a;product=apm_ingested_bytes',
    'b-prod-logs fire org=client-b;product=logs_ingested_bytes;tags=env:prod',
    'events-projected fire product=logs_indexed_events',
    'logs-spike fire org=client-b;product=logs_ingested_bytes',
  ]);
  for (const n of run.notices) {
    const d = await db('deliveries').whereRaw(`reference->>'eventId' = ?`, [n.eventId]).first('id');
    const mail = await compose(deps, await getDelivery(db, String(d.id)));
    const before = sink.messages.length;
    await sendMail(sink.url, mail);
    const raw = sink.messages[before]?.raw as Buffer;
    sent.set(n.ruleId, { ruleId: n.ruleId, mail, parsed: await simpleParser(raw, { keepCidLinks: true }) });
    // A preview for screenshots (docs/screenshots/mail-alert-*.png): the HTML as a client shows it, images inlined.
    const preview = process.env.ORGTALLY_MAIL_PREVIEW_DIR;
    if (preview) {
      fs.mkdirSync(preview, { recursive: true });
      fs.writeFileSync(path.join(preview, `${n.ruleId}.html`), String((await simpleParser(raw)).html));
      fs.writeFileSync(path.join(preview, `${n.ruleId}.txt`), mail.text);
    }
  }
}, 120_000);
afterAll(async () => {
  await sink.close();
  await drop();
});

const got = (ruleId: string): Sent => {
  const s = sent.get(ruleId);
  if (!s) throw new Error(`no mail for ${ruleId}`);
  return s;
};
const textOf = (ruleId: string) => got(ruleId).parsed.text ?? '';
/** The text with its line breaks as spaces: sentences wrap. */
const flatText = (ruleId: string) => textOf(ruleId).replace(/\s+/g, ' ');
const htmlOf = (ruleId: string) => String(got(ruleId).parsed.html);

/** The account's projected billable usage from the facts: Σ billable orgs' hours before as-of × 744 / hours. */
async function projectedFromFacts(
  product: string,
): Promise<{ mtd: string; projected: string; cost: string }> {
  const { rows } = await db.raw(
    `WITH f AS (
       SELECT sum(x.value) AS mtd FROM usage_facts x JOIN orgs o ON o.id = x.org_id JOIN products p ON p.id = x.product_id
        WHERE p.code = :product AND o.billable AND x.hour >= '2026-10-01T00:00:00Z' AND x.hour < :asOf)
     SELECT trim_scale(f.mtd)::text AS mtd, trim_scale(f.mtd * 744 / 468)::text AS projected,
            round(greatest(0, f.mtd * 744 / 468 - c.quantity) * c.on_demand_price, 2)::text AS cost
       FROM f, commitments c WHERE c.account_id = 'acme' AND c.product_code = :product`,
    { product, asOf: AS_OF },
  );
  return rows[0];
}

/** Day D's value − the median of the 14 days before, of one org × product, from the facts, × its price. */
async function changeFromFacts(org: string, product: string): Promise<{ change: string; cost: string }> {
  const { rows } = await db.raw(
    `WITH d AS (
       SELECT (x.hour AT TIME ZONE 'UTC')::date AS day, sum(x.value) AS v
         FROM usage_facts x JOIN orgs o ON o.id = x.org_id JOIN products p ON p.id = x.product_id
        WHERE o.public_id = :org AND p.code = :product
          AND x.hour >= CAST(:day AS date) - 14 AND x.hour < CAST(:day AS date) + 1
        GROUP BY 1),
     b AS (SELECT array_agg(v ORDER BY v) AS s FROM d WHERE day < CAST(:day AS date))
     SELECT trim_scale(d.v - (b.s[7] + b.s[8]) / 2)::text AS change,
            round((d.v - (b.s[7] + b.s[8]) / 2) * coalesce(c.on_demand_price, 0), 2)::text AS cost
       FROM d, b LEFT JOIN commitments c ON c.account_id = 'acme' AND c.product_code = :product
      WHERE d.day = CAST(:day AS date)`,
    { org, product, day: SPIKE_DAY },
  );
  return rows[0];
}

const KEYS = [
  /org=/,
  /product=/,
  /tags=/,
  /2026-10@/,
  /\b2026-10\b/, // the month's window key (and any ISO date: days are written in words)
  /\bclient-[abc]\b/, // org public ids
];

describe('alert mails built from real rows, read back over SMTP', () => {
  it('name the account, org and product with its unit, and show no internal key', () => {
    for (const r of ['events-projected', 'b-prod-logs', 'apm-spike', 'logs-spike']) {
      const { parsed } = got(r);
      const all = `${parsed.subject}\n${textOf(r)}`;
      expect(all).toContain('Acme MSP');
      for (const k of KEYS) expect(`${r}: ${all.match(k)?.[0] ?? 'none'}`).toBe(`${r}: none`);
      expect(textOf(r)).toContain(`rule ${r}`);
    }
    expect(got('events-projected').parsed.subject).toBe(
      '[orgtally] ALERT Acme MSP: usage threshold — logs_indexed_events for the account, ' +
        'October 2026, projected to its end: EUR 164.10 projected on-demand',
    );
    expect(got('logs-spike').parsed.subject).toBe(
      '[orgtally] ALERT Acme MSP: usage spike — logs_ingested_bytes at Client B on Fri 16 Oct 2026',
    );
    expect(flatText('b-prod-logs')).toContain(
      "Client B's month-to-date usage of logs_ingested_bytes tagged env:prod for October 2026 is 564 GB",
    );
    expect(textOf('apm-spike')).toContain('Org:');
    expect(textOf('apm-spike')).toMatch(/Org: +Client A\n/);
    expect(flatText('logs-spike')).toContain(
      'on Friday 16 October 2026 was 144 GB against a median of 48 GB',
    );
    expect(textOf('events-projected')).toContain('in million events');
  });

  it("state the threshold's projected on-demand × price, equal to the figure recomputed from the facts", async () => {
    const f = await projectedFromFacts('logs_indexed_events');
    expect(f).toEqual({ mtd: '71.9316', projected: '114.3528', cost: '164.10' });
    const t = textOf('events-projected');
    expect(flatText('events-projected')).toContain(`= ${money(f.cost, 'EUR')} (an estimate)`);
    expect(flatText('events-projected')).toContain(
      '64.3528 million events (projected billable 114.3528 million events − 50 million events included) × EUR 2.55 per million events',
    );
    // the chart's last point is the figure the rule judged (same code path as the evaluation)
    expect(t).toMatch(new RegExp(`Tue 20 Oct \\(to 12:00\\) +${f.mtd} +${f.projected}\\n`));
    const ev = await db('alert_events').where({ rule_id: 'events-projected' }).first('details');
    expect(ev.details.evaluation.value).toBe(f.projected);
  });

  it("state a spike's change × price as an estimate, recomputed from the facts", async () => {
    const f = await changeFromFacts('client-a', 'apm_ingested_bytes');
    expect(f).toEqual({ change: '80.88', cost: '8.09' });
    const t = flatText('apm-spike');
    expect(t).toContain(`+80.88 GB × EUR 0.10 per GB ≈ ${signedMoney(f.cost, 'EUR')} for the day`);
    expect(t).toContain('an estimate');
  });

  it('say "not priced" for a product without a price, never 0.00', () => {
    for (const r of ['b-prod-logs', 'logs-spike']) {
      expect(textOf(r)).toContain('Cost:');
      expect(textOf(r)).toMatch(/Cost: +not priced\n/);
      expect(flatText(r)).toContain('not priced (logs_ingested_bytes has no on-demand price');
      expect(`${textOf(r)}${htmlOf(r)}`).not.toMatch(/0\.00/);
    }
  });

  it('carry the chart as an inline PNG that the HTML references, with its figures in a table too', () => {
    for (const r of ['events-projected', 'b-prod-logs', 'apm-spike', 'logs-spike']) {
      const { parsed } = got(r);
      const pngs = parsed.attachments.filter((a) => a.contentType === 'image/png');
      expect(pngs).toHaveLength(1);
      const png = pngs[0] as (typeof pngs)[number];
      expect(png.content.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      const img = /<img src="cid:([^"]+)" width="(\d+)" height="(\d+)" alt="([^"]+)"/.exec(htmlOf(r));
      expect(img?.[1]).toBe(png.cid);
      expect(png.contentDisposition).toBe('inline');
      // IHDR: width and height at bytes 16 and 20; drawn at twice the displayed size for sharp screens
      expect([png.content.readUInt32BE(16), png.content.readUInt32BE(20)]).toEqual([
        2 * Number(img?.[2]),
        2 * Number(img?.[3]),
      ]);
      expect(img?.[4]).toMatch(/^Chart of /);
    }
    // the spike's table lists the 15 days and the median
    const t = textOf('logs-spike');
    expect(t).toMatch(/Fri 2 Oct +48\n/);
    expect(t).toMatch(/Fri 16 Oct +144\n/);
    expect(t).toMatch(/Median of the 14 days before +48\n/);
    expect(htmlOf('logs-spike')).toContain('>144</td>');
  });

  it('keep text lines under 100 columns and the HTML readable at 400 px', () => {
    for (const r of ['events-projected', 'b-prod-logs', 'apm-spike', 'logs-spike']) {
      const long = textOf(r)
        .split('\n')
        .filter((l) => l.length >= 100);
      expect(long).toEqual([]);
      const html = htmlOf(r).replace(/<img [^>]*>/g, '');
      const fixed = [...html.matchAll(/(?<![-\w])width(?::\s*|=")(\d+)(px)?/g)].map((m) => Number(m[1]));
      expect(fixed.filter((w) => w > 400)).toEqual([]);
      expect(htmlOf(r)).toMatch(
        /<img [^>]*style="[^"]*max-width:\s*\d+px[^"]*width:100%|width:100%;max-width/,
      );
    }
  });

  it('gives every retry the first bytes, even after the price moved (the render is stored)', async () => {
    // A contract change after the notice went out: a fresh render would now say another amount.
    await db('commitments').where({ account_id: 'acme' }).increment('on_demand_price', 1);
    try {
      for (const r of ['events-projected', 'logs-spike']) {
        const d = await db('deliveries')
          .join('alert_events as e', db.raw(`e.id::text = deliveries.reference->>'eventId'`))
          .where('e.rule_id', r)
          .first('deliveries.id', 'e.id as event_id');
        const again = await compose(deps, await getDelivery(db, String(d.id)));
        const first = got(r).mail;
        expect(again).toEqual(first);
        if (r === 'events-projected') {
          const { input } = await alertMailData(db, String(d.event_id));
          expect(renderAlertMail(input).text).not.toBe(first.text); // what an unstored render would send
        }
      }
    } finally {
      await db('commitments').where({ account_id: 'acme' }).decrement('on_demand_price', 1);
    }
  });

  it("the threshold mail's text part reads as its golden file", () => {
    const file = path.join(GOLDEN, 'threshold-projected.txt');
    const actual = textOf('events-projected');
    if (process.env.UPDATE_GOLDEN) {
      fs.mkdirSync(GOLDEN, { recursive: true });
      fs.writeFileSync(file, actual);
    }
    if (!fs.existsSync(file))
      throw new Error(`no golden file ${file}: run with UPDATE_GOLDEN=1 and review it`);
    expect(actual).toBe(fs.readFileSync(file, 'utf8'));
  });
});
