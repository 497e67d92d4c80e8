import path from 'node:path';
import type { Knex } from 'knex';
import { planDeliveries, type Delivery } from '../db/deliveries';
import { closeMonth as close, type CloseInput, type CloseResult } from '../db/month-end';
import { monthDays as days, type MonthDays } from '../db/month-period';
import { mailModel } from '../db/month-end-mail';
import {
  requireVersion,
  versionRender,
  writeMonthEndFiles as writeFiles,
  writeOnce,
  type VersionRow,
  type WrittenFile,
} from '../db/month-end-report';
import { DEFAULT_FILE_MODES, type FileModes } from '../domain/file-modes';
import { computeTrends, type TrendsResult } from '../db/trends';
import { costHistoryOption } from '../domain/month-end-chart';
import { mailSubject } from '../domain/month-end-mail';
import { renderHtml } from '../domain/month-end-mail-html';
import { renderText } from '../domain/month-end-mail-text';
import { chartPng } from '../infra/chart-png';
import { asActivity, withHeartbeat } from './failures';

export interface MonthEndDeps {
  db: Knex;
  outputDir: string;
  mailDomain: string;
  fileModes: FileModes;
}

export interface VersionRef {
  accountId: string;
  month: string;
  version: number;
}

/** Where a version's files go: <output>/month-end/<account>/<YYYY-MM>/v<version>/. */
export function versionDir(outputDir: string, v: VersionRef): string {
  return path.join(outputDir, 'month-end', v.accountId, v.month, `v${v.version}`);
}

/**
 * The version's mail (rendered once, stored) and its files: the attachments and the mail's HTML and text parts
 * (the preview). Files are written once and never change: a later close, backfill or re-send finds them as the
 * first recipient's mail had them.
 */
export async function renderVersion(
  db: Knex,
  outputDir: string,
  ref: VersionRef,
  modes: FileModes = DEFAULT_FILE_MODES,
): Promise<{
  version: VersionRow;
  files: WrittenFile[];
  subject: string;
  html: string;
  text: string;
  chart_png: Buffer | null;
}> {
  const version = await requireVersion(db, ref.accountId, ref.month, ref.version);
  const dir = versionDir(outputDir, ref);
  const render = await versionRender(db, version, async () => {
    const model = await mailModel(db, version);
    // The chart needs two closed months to say anything; one bar alone is the headline again.
    const chart = model.cost_history.filter((h) => h.committed !== null).length >= 2;
    return {
      subject: mailSubject(model),
      html: renderHtml(model, { chart }),
      text: renderText(model),
      chart_png: chart
        ? chartPng(costHistoryOption(model.cost_history, model.account.currency), { width: 560, height: 240 })
        : null,
    };
  });
  const files = await writeFiles(db, version, dir, modes);
  writeOnce(path.join(dir, 'report.html'), render.html, modes);
  writeOnce(path.join(dir, 'report.txt'), render.text, modes);
  return { version, files, ...render };
}

export function monthEndActivities(deps: MonthEndDeps) {
  return {
    monthDays: (input: { accountId: string; month: string }): Promise<MonthDays> =>
      asActivity(() => days(deps.db, input.accountId, input.month)),
    computeTrends: (input: { accountId: string; month: string }): Promise<TrendsResult> =>
      asActivity(() => withHeartbeat(() => computeTrends(deps.db, input))),
    closeMonth: (input: CloseInput): Promise<CloseResult> =>
      asActivity(() => withHeartbeat(() => close(deps.db, input))),
    renderMonthEnd: (ref: VersionRef): Promise<{ dir: string; files: WrittenFile[] }> =>
      asActivity(async () => {
        const { files } = await withHeartbeat(() =>
          renderVersion(deps.db, deps.outputDir, ref, deps.fileModes),
        );
        return { dir: versionDir(deps.outputDir, ref), files };
      }),
    /** One ledger row per finance recipient of the version (existing rows are kept as they are). */
    planMonthEndDeliveries: (ref: VersionRef): Promise<Pick<Delivery, 'id' | 'recipient' | 'status'>[]> =>
      asActivity(async () => {
        const recipients = (
          await deps.db('finance_recipients').where({ account_id: ref.accountId }).orderBy('email')
        ).map((r: { email: string }) => r.email);
        const rows = await planDeliveries(
          deps.db,
          recipients.map((recipient: string) => ({
            dedupeKey: `month-end/${ref.accountId}/${ref.month}/v${ref.version}/${recipient}`,
            kind: 'month_end' as const,
            accountId: ref.accountId,
            reference: { month: ref.month, version: ref.version },
            recipient,
          })),
          deps.mailDomain,
        );
        return rows.map(({ id, recipient, status }) => ({ id, recipient, status }));
      }),
  };
}
