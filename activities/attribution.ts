import type { Knex } from 'knex';
import { attributeDay as attribute, type AttributeInput, type AttributeResult } from '../db/attribution';
import {
  exportDay as exportFiles,
  reconcileDay as reconcile,
  type ExportedFile,
} from '../db/attribution-files';
import { checkDay } from '../domain/attribution';
import type { FileModes } from '../domain/file-modes';
import { asActivity, withHeartbeat } from './failures';

export interface AttributionDeps {
  db: Knex;
  outputDir: string;
  fileModes: FileModes;
}

export function attributionActivities(deps: AttributionDeps) {
  return {
    attributeDay: (input: AttributeInput): Promise<AttributeResult> =>
      asActivity(async () => {
        checkDay(input.day);
        return withHeartbeat(() =>
          attribute(deps.db, input, { outputDir: deps.outputDir, modes: deps.fileModes }),
        );
      }),
    // exportDay and reconcileDay: the steps of workflows started before attributeDay wrote the files itself.
    exportDay: (input: { accountId: string; day: string }): Promise<ExportedFile[]> =>
      asActivity(async () => {
        checkDay(input.day);
        return withHeartbeat(() =>
          exportFiles(deps.db, { ...input, outputDir: deps.outputDir, modes: deps.fileModes }),
        );
      }),
    reconcileDay: (input: { accountId: string; day: string; files: ExportedFile[] }) =>
      asActivity(() => withHeartbeat(() => reconcile(deps.db, input))),
  };
}
