import type { Knex } from 'knex';
import { attributionActivities } from './attribution';
import { ingestDropFile, listDropFolder } from './drop-folder';

export interface ActivityDeps {
  db: Knex;
  dropDir: string;
  outputDir: string;
  retentionDays: number;
}

/** Every activity, built over injected dependencies; the worker is the only caller. */
export function createActivities(deps: ActivityDeps) {
  return {
    listDropFolder: listDropFolder(deps),
    ingestDropFile: ingestDropFile(deps),
    ...attributionActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { DropFileInput, DropFileResult } from './drop-folder';
export type { AttributeInput, AttributeResult } from '../db/attribution';
export type { ExportedFile } from '../db/attribution-files';
