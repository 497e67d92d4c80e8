import type { Knex } from 'knex';
import { attributeDay as attribute, type AttributeInput, type AttributeResult } from '../db/attribution';
import {
  exportDay as exportFiles,
  reconcileDay as reconcile,
  type ExportedFile,
} from '../db/attribution-files';
import { isDay } from '../domain/attribution';
import { ErrorType, OrgtallyError } from '../domain/errors';
import type { FileModes } from '../domain/file-modes';
import { asActivity, withHeartbeat } from './failures';

export interface AttributionDeps {
  db: Knex;
  outputDir: string;
  fileModes: FileModes;
}

function checkDay(input: { accountId: string; day: string }): void {
  if (!isDay(input.day))
    throw new OrgtallyError(ErrorType.InvalidInput, `day "${input.day}" is not YYYY-MM-DD`);
}

export function attributionActivities(deps: AttributionDeps) {
  return {
    attributeDay: (input: AttributeInput): Promise<AttributeResult> =>
      asActivity(async () => {
        checkDay(input);
        return withHeartbeat(() => attribute(deps.db, input));
      }),
    exportDay: (input: { accountId: string; day: string }): Promise<ExportedFile[]> =>
      asActivity(async () => {
        checkDay(input);
        return withHeartbeat(() =>
          exportFiles(deps.db, { ...input, outputDir: deps.outputDir, modes: deps.fileModes }),
        );
      }),
    reconcileDay: (input: { accountId: string; day: string; files: ExportedFile[] }) =>
      asActivity(() => withHeartbeat(() => reconcile(deps.db, input))),
  };
}
