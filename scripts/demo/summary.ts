import fs from 'node:fs';
import path from 'node:path';
import { redactUrl } from '../../infra/config';
import type { Knex } from 'knex';

import { type MailSink } from '../../infra/mail-sink';
import { log, step } from './log';
import type { Ran } from './types';
import { financeRecipients, ledgerTotals } from '../../db/overview';
/** Where every output is, which workflows ran, and the commands to look further. */
export async function summary(
  db: Knex,
  ran: Ran,
  o: {
    outputDir: string;
    mailDir: string;
    sink: MailSink | undefined;
    smtpUrl: string | undefined;
    uiUrl: string | undefined;
    ours: boolean;
    started: number;
  },
): Promise<void> {
  step('Where everything is');
  const b = ran.backfill;
  const count = (dir: string, ext: string) =>
    fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(ext)).length : 0;
  const attributionDir = path.join(o.outputDir, 'acme', 'attribution');
  const monthEndDir = path.join(o.outputDir, 'month-end', 'acme');
  const finance = new Set<string>(await financeRecipients(db, 'acme'));
  const received = o.sink?.messages ?? [];
  const financeMails = received.filter((m) => m.to.some((t) => finance.has(t))).length;
  const contacts = new Set<string>(
    await db('orgs').where({ account_id: 'acme' }).whereNotNull('billing_contact').pluck('billing_contact'),
  );
  const statementMails = received.filter((m) => m.to.some((t) => contacts.has(t))).length;
  const ledger = await ledgerTotals(db, 'acme');
  const ledgerText = ledger
    .map((l) => `${l.kind === 'month_end' ? 'finance' : l.kind} ${l.sent} sent of ${l.mails}`)
    .join(', ');
  const e = ran.estimates;
  const env = ['ORGTALLY_HOME', 'OUTPUT_DIR', 'DROP_DIR']
    .filter((k) => process.env[k])
    .map((k) => `${k}=${process.env[k]}`);
  const cli = 'npm run orgtally --';
  const lines: [string, string][] = [
    [
      'daily TSVs',
      `${attributionDir} (${count(attributionDir, '.tsv').toLocaleString('en-US')} files, daily_<product>_<YYYY-MM-DD>.tsv)`,
    ],
    [
      'month-end reports',
      `${monthEndDir}/<YYYY-MM>/v<N>/ (${b.months.length} months closed: ${b.months[0]} … ${b.months.at(-1)})` +
        (b.lastVersion
          ? `\n  ${b.lastMonth} mail preview: ${path.join(monthEndDir, b.lastMonth, `v${b.lastVersion}`, 'report.html')}`
          : ''),
    ],
    [
      'mail',
      (o.sink
        ? `${o.mailDir} (${count(o.mailDir, '.eml')} .eml): this run ${financeMails} finance, ` +
          `${statementMails} client statement, ${received.length - financeMails - statementMails} alert message(s)`
        : `sent to ${redactUrl(o.smtpUrl)}`) +
        `; the ledger: ${ledgerText || 'no mail'} (\`${cli} deliveries list\`)`,
    ],
    [
      'Temporal Web UI',
      o.uiUrl
        ? `${o.uiUrl} (stack left running; \`${cli} dev down\` stops it)`
        : o.ours
          ? `stopped with the stack below; its data stays in ORGTALLY_HOME: \`${cli} dev up\` starts it again ` +
            `(with the Web UI), and \`npm run demo -- --keep\` leaves it running`
          : '(Temporal is not the local dev server)',
    ],
    ['schedules', `${ran.scheduleIds.join(', ')}`],
    [
      'workflow ids',
      [
        ran.ingestId,
        `${b.id} (${b.runs} run(s)), its days attributed by the backfill itself (local activities)`,
        `month-end/acme/<month> and trends/acme/<month> for ${b.months.join(', ')}`,
        `estimates/acme/<hour>: ${e.ids.length} run(s) this time` +
          (e.skipped ? ` (${e.skipped} earlier hour(s) ran before)` : '') +
          (e.ids.length ? `, ${e.ids[0]} … ${e.ids.at(-1)}` : ''),
        `delivery/<ledger id>: one per mail`,
      ].join('\n  '),
    ],
    [
      'look further',
      [
        ...(env.length ? [`(with ${env.join(' ')} set as for this run)`] : []),
        ...(o.ours ? [`${cli} dev up`] : []),
        `${cli} report month-end --account acme --month ${b.lastMonth} [--format json]`,
        `${cli} report trends --account acme --month ${b.lastMonth}`,
        `${cli} report estimates --account acme   (and --error --month ${b.lastMonth})`,
        `${cli} alerts history --account acme`,
        `${cli} schedules list`,
        `${cli} backfill status ${b.id}   (a running worker answers it: \`${cli} worker\`)`,
      ].join('\n  '),
    ],
    ['took', `${((Date.now() - o.started) / 1000).toFixed(0)} s`],
  ];
  for (const [k, v] of lines) log(`${k.padEnd(18)}${v.replace(/\n {2}/g, `\n${' '.repeat(18)}`)}`);
}
