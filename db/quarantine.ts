import type { Knex } from 'knex';

export interface QuarantineRow {
  batch_id: string;
  file: string;
  line: number;
  reason: string;
  detail: string;
  raw: string;
  quarantined_at: string;
}

export async function listQuarantine(
  db: Knex,
  filter: { reason?: string; file?: string; limit: number },
): Promise<{ total: number; rows: QuarantineRow[] }> {
  const base = db('quarantine as q').join('ingest_batches as b', 'b.id', 'q.batch_id');
  if (filter.reason) base.where('q.reason', filter.reason);
  if (filter.file) base.where('q.file', filter.file);
  const counted = await base.clone().count({ n: '*' });
  const n = counted[0]?.n ?? 0;
  const rows = await base
    .clone()
    .select(
      'b.batch_key as batch_id',
      'q.file',
      'q.line',
      'q.reason',
      'q.detail',
      'q.raw',
      'q.quarantined_at',
    )
    .orderBy([{ column: 'q.quarantined_at', order: 'desc' }, 'q.file', 'q.line'])
    .limit(filter.limit);
  return { total: Number(n), rows };
}
