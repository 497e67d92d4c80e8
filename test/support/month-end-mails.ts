import type { Knex } from 'knex';
import { Readable } from 'node:stream';
import { ingestStream } from '../../activities/ingest-file';
import { renderVersion } from '../../activities/month-end';
import { attributeDay } from '../../db/attribution';
import { computeEstimates } from '../../db/estimates';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { refreshRollup } from '../../db/usage-rollup';
import { sampleUsage } from '../../scripts/lib/sample-data';
import { applyExample, rec, tempDir } from './fixtures';

/**
 * Three months of the sample account closed, November three ways: provisional (v1, closed inside the lateness
 * window, with an estimate run of the month for its projected bill, and mailed), then marked final in place, then
 * late usage for Client B and a restated final v2. Each kind of finance mail comes from it.
 */
export const MAIL_MONTHS = ['2026-09', '2026-10', '2026-11'];
export const ESTIMATE_AS_OF = '2026-11-30T12:00:00Z';
export const PROVISIONAL_AS_OF = '2026-12-02T06:00:00Z';
export const FINALIZED_AS_OF = '2026-12-05T06:00:00Z';
export const RESTATED_AS_OF = '2026-12-06T06:00:00Z';

async function ingest(db: Knex, source: string, lines: Iterable<string>, asOf: string): Promise<void> {
  const res = await ingestStream(db, {
    source,
    stream: Readable.from(lines),
    format: 'ndjson',
    asOfMs: Date.parse(asOf),
    retentionDays: 400,
  });
  if (res.quarantined) throw new Error(`${source}: ${res.quarantined} quarantined`);
}

async function attribute(db: Knex, month: string): Promise<void> {
  for (const day of (await monthDays(db, 'acme', month)).toAttribute)
    await attributeDay(db, { accountId: 'acme', day });
}

export async function mailScenario(db: Knex): Promise<{ outputDir: string }> {
  await applyExample(db);
  for (const month of MAIL_MONTHS) {
    const fromMs = Date.parse(`${month}-01T00:00:00Z`);
    const next = new Date(fromMs);
    next.setUTCMonth(next.getUTCMonth() + 1);
    await ingest(
      db,
      `usage_${month}.ndjson`,
      (function* () {
        for (const r of sampleUsage({ fromMs, toMs: next.getTime() })) yield `${JSON.stringify(r)}\n`;
      })(),
      PROVISIONAL_AS_OF,
    );
    await attribute(db, month);
    if (month === '2026-11') {
      await refreshRollup(db);
      await computeEstimates(db, 'acme', ESTIMATE_AS_OF);
    }
    const asOf = month === '2026-11' ? PROVISIONAL_AS_OF : FINALIZED_AS_OF;
    await closeMonth(db, { accountId: 'acme', month, asOf });
  }
  // The provisional version is mailed (rendered) before the lateness window ends; then it becomes final in place.
  const outputDir = tempDir('mail-scenario-');
  await renderVersion(db, outputDir, { accountId: 'acme', month: '2026-11', version: 1 });
  const fin = await closeMonth(db, { accountId: 'acme', month: '2026-11', asOf: FINALIZED_AS_OF });
  if (fin.outcome !== 'finalized')
    throw new Error(`expected November v1 finalized in place, got ${fin.outcome}`);
  // Late usage for one org: 40 more hosts for Client B over the last week of November.
  const late: string[] = [];
  for (let d = 24; d <= 30; d++)
    for (let h = 0; h < 24; h++) {
      const ts = `2026-11-${d}T${String(h).padStart(2, '0')}:00:00Z`;
      late.push(`${rec(ts, 'client-b', 'infra_hosts', 40, ['team:late'])}\n`);
    }
  await ingest(db, 'late_client_b.ndjson', late, RESTATED_AS_OF);
  await attribute(db, '2026-11');
  await closeMonth(db, { accountId: 'acme', month: '2026-11', asOf: RESTATED_AS_OF });
  return { outputDir };
}

export type MailKind = 'final' | 'provisional' | 'restated';
export const MAIL_KINDS: Record<MailKind, { month: string; version: number }> = {
  final: { month: '2026-10', version: 1 },
  provisional: { month: '2026-11', version: 1 },
  restated: { month: '2026-11', version: 2 },
};

export function renderKind(db: Knex, outputDir: string, kind: MailKind) {
  return renderVersion(db, outputDir, { accountId: 'acme', ...MAIL_KINDS[kind] });
}
