import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { planDeliveries, type Delivery } from '../db/deliveries';
import {
  closeMonth as close,
  monthDays as days,
  type CloseInput,
  type CloseResult,
  type MonthDays,
} from '../db/month-end';
import {
  mailModel,
  requireVersion,
  writeMonthEndFiles as writeFiles,
  type VersionRow,
  type WrittenFile,
} from '../db/month-end-report';
import { computeTrends, type TrendsResult } from '../db/trends';
import { mailSubject, renderHtml, renderText } from '../domain/month-end-report';
import { asActivity, withHeartbeat } from './failures';

export interface MonthEndDeps {
  db: Knex;
  outputDir: string;
  mailDomain: string;
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

/** The version's attachments plus the mail's HTML and text parts as files (the preview). */
export async function renderVersion(
  db: Knex,
  outputDir: string,
  ref: VersionRef,
  opts: { reuseFiles?: boolean } = {},
): Promise<{
  version: VersionRow;
  files: Pick<WrittenFile, 'name' | 'path'>[];
  subject: string;
  html: string;
  text: string;
}> {
  const version = await requireVersion(db, ref.accountId, ref.month, ref.version);
  const dir = versionDir(outputDir, ref);
  const model = await mailModel(db, version);
  const names = [model.files.byOrg, model.files.byTag, ...model.files.summaries];
  const existing = names.map((name) => ({ name, path: path.join(dir, name) }));
  const files =
    opts.reuseFiles && existing.every((f) => fs.existsSync(f.path))
      ? existing
      : await writeFiles(db, version, dir);
  const html = renderHtml(model);
  const text = renderText(model);
  fs.writeFileSync(path.join(dir, 'report.html'), html);
  fs.writeFileSync(path.join(dir, 'report.txt'), text);
  return { version, files, subject: mailSubject(model), html, text };
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
        const dir = versionDir(deps.outputDir, ref);
        const version = await requireVersion(deps.db, ref.accountId, ref.month, ref.version);
        const files = await withHeartbeat(() => writeFiles(deps.db, version, dir));
        await renderVersion(deps.db, deps.outputDir, ref, { reuseFiles: true });
        return { dir, files };
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
