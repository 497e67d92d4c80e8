import type { Knex } from 'knex';
import type { FileModes } from '../domain/file-modes';
import type { OutgoingMail } from '../infra/mail';
import { attributionActivities } from './attribution';
import { deliveryActivities } from './deliveries';
import { estimateActivities } from './estimates';
import { scheduleActivities } from './schedules';
import { monthEndActivities } from './month-end';
import { statementActivities } from './statements';
import { ingestDropFile, listDropFolder } from './drop-folder';

export interface ActivityDeps {
  db: Knex;
  dropDir: string;
  outputDir: string;
  retentionDays: number;
  fileModes: FileModes;
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Replaces the SMTP transport (tests that count attempts). */
  send?: (smtpUrl: string, mail: OutgoingMail) => Promise<{ response: string }>;
}

/** The domain of the From address: Message-IDs are minted under it. */
export function mailDomain(mailFrom: string): string {
  return /@([^>\s]+)/.exec(mailFrom)?.[1] ?? 'orgtally.localhost';
}

/** Every activity, built over injected dependencies; the worker is the only caller. */
export function createActivities(deps: ActivityDeps) {
  return {
    listDropFolder: listDropFolder(deps),
    ingestDropFile: ingestDropFile(deps),
    ...attributionActivities(deps),
    ...monthEndActivities({ ...deps, mailDomain: mailDomain(deps.mailFrom) }),
    ...statementActivities({ db: deps.db, mailDomain: mailDomain(deps.mailFrom) }),
    ...deliveryActivities(deps),
    ...estimateActivities({ db: deps.db, mailDomain: mailDomain(deps.mailFrom) }),
    ...scheduleActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { DropFileInput, DropFileResult } from './drop-folder';
export type { AttributeInput, AttributeResult } from '../db/attribution';
export type { ExportedFile } from '../db/attribution-files';
export type { CloseInput, CloseResult } from '../db/month-end';
export type { MonthDays } from '../db/month-period';
export type { WrittenFile } from '../db/month-end-report';
export type { VersionRef } from './month-end';
export type { TrendsResult } from '../db/trends';
export type { DeliveryResult } from './deliveries';
export type { PlannedStatement } from './statements';
export type { EstimateResult } from '../db/estimates';
export type { RollupResult } from '../db/usage-rollup';
export type { AlertRunResult, AlertNotice } from '../db/alerts';
