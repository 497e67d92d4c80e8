import type { Knex } from 'knex';
import { listQuarantine, type QuarantineRow } from '../db/quarantine';
import { QUARANTINE_REASONS } from '../domain/records';
import { notFound } from './scope';

/**
 * Quarantined records, newest first. Deployment-wide (an operator's view: a record whose org is unknown belongs
 * to no account), so it takes no caller's scope. A reason or file that names nothing is an error saying what exists.
 */
export async function quarantineRecords(
  db: Knex,
  q: { reason?: string; file?: string; limit: number },
): Promise<{ total: number; rows: QuarantineRow[] }> {
  if (q.reason !== undefined && !(QUARANTINE_REASONS as readonly string[]).includes(q.reason))
    throw notFound(`no quarantine reason "${q.reason}" (reasons: ${QUARANTINE_REASONS.join(', ')})`);
  if (q.file !== undefined && !(await db('ingest_batches').where({ source: q.file }).first('id'))) {
    const recent = (await db('ingest_batches').orderBy('id', 'desc').limit(5).select('source')).map(
      (r: { source: string }) => r.source,
    );
    throw notFound(`no file "${q.file}" was ingested (latest: ${recent.join(', ') || 'none'})`);
  }
  return listQuarantine(db, q);
}
