import { createHash, randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ErrorType, isTransientError, OrgtallyError, sqlState } from '../domain/errors';
import {
  cleanText,
  createValidator,
  MAX_QUARANTINE_DETAIL,
  MAX_QUARANTINE_RAW,
  type InputFormat,
  type QuarantineReason,
  type ReadRecord,
} from '../domain/records';
import { isoHour } from '../domain/time';
import { MARK_PENDING_SQL } from './attribution';
import { loadCatalog } from './catalog';

/** Owner of ingest_batches, usage_facts, quarantine and tag_sets. */

export interface IngestInput {
  /** Shown in output and stored with quarantined records: the file name, or "-" for stdin. */
  source: string;
  /** The records read from the input, in batches (readers live in infra/: this module receives records). */
  records: AsyncIterable<ReadRecord[]>;
  /** The SHA-256 of the input's bytes, asked once every record has been read. */
  contentSha256: () => string;
  format: InputFormat;
  /** Idempotency key; default: the SHA-256 of the content. */
  batchId?: string;
  replace?: boolean;
  asOfMs: number;
  retentionDays: number;
}

export interface IngestResult {
  file: string;
  batch_id: string;
  records_read: number;
  accepted: number;
  quarantined: number;
  duplicate_batch: boolean;
  replaced_facts: number;
  quarantined_by_reason: Partial<Record<QuarantineReason, number>>;
}

const QUARANTINE_FLUSH = 5000;

/** COPY text format: backslash, tab, newline and carriage return are escaped. */
const copyText = (s: string) =>
  s.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] as string);

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function endCopy(stream: Writable): Promise<void> {
  const done = once(stream, 'finish');
  stream.end();
  await done;
}

/**
 * Streams one batch into usage_facts with COPY, in one transaction: validate each record, quarantine the bad ones
 * with file, line, raw text and reason, and commit only if the batch key is new. The batch key (content hash or
 * --batch-id) is unique in ingest_batches: a second ingest of the same batch, even a concurrent one, rolls back
 * and changes nothing. With `replace`, earlier facts for the (org, product, hour) keys the batch carries go.
 */
export async function ingestBatch(db: Knex, input: IngestInput): Promise<IngestResult> {
  const result: IngestResult = {
    file: input.source,
    batch_id: input.batchId ?? '',
    records_read: 0,
    accepted: 0,
    quarantined: 0,
    duplicate_batch: false,
    replaced_facts: 0,
    quarantined_by_reason: {},
  };
  if (input.batchId) {
    const prior = await db('ingest_batches').where({ batch_key: input.batchId }).first();
    if (prior) return duplicateOf(result, prior);
  }
  const catalog = await loadCatalog(db);
  const tagSets = new TagSetDictionary(db);
  // The last line handed to Postgres: a load that fails says how far it got (COPY reports errors late).
  let lastLine = 0;
  const client = (await db.client.acquireConnection()) as PoolClient;
  let open = false;
  // The COPY in progress, if any: on error it must be aborted (CopyFail) before the connection can roll back.
  let active: Writable | undefined;
  const startCopy = (sql: string) => (active = client.query(copyFrom(sql, { highWaterMark: 4 << 20 })));
  const finishCopy = async (stream: Writable) => {
    await endCopy(stream);
    active = undefined;
  };
  try {
    await client.query('BEGIN');
    open = true;
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO ingest_batches (batch_key, source, format, replace, as_of) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [`pending:${randomUUID()}`, input.source, input.format, input.replace ?? false, new Date(input.asOfMs)],
    );
    const batchId = (rows[0] as { id: string }).id;
    const window = { asOfMs: input.asOfMs, retentionDays: input.retentionDays };
    const FACTS_COPY =
      'COPY usage_facts (batch_id, line, org_id, product_id, hour, tag_set_id, value) FROM STDIN';
    let facts = startCopy(FACTS_COPY);
    let quarantine: string[] = [];
    const flushQuarantine = async () => {
      if (!quarantine.length) return;
      await finishCopy(facts);
      const q = startCopy('COPY quarantine (batch_id, file, line, reason, detail, raw) FROM STDIN');
      await write(q, quarantine.join(''));
      await finishCopy(q);
      quarantine = [];
      facts = startCopy(FACTS_COPY);
    };
    const file = copyText(cleanText(input.source, MAX_QUARANTINE_DETAIL));
    const validate = createValidator(catalog, window);
    const hourText = new Map<number, string>();
    const iso = (ms: number) => {
      let t = hourText.get(ms);
      if (t === undefined) hourText.set(ms, (t = isoHour(ms)));
      return t;
    };
    // The hours this batch touches, per account: their days become pending (re-)attribution.
    const touched = new Map<string, Set<number>>();
    const handle = async (chunk: ReadRecord[]) => {
      const valid = chunk.map((r) => ('record' in r ? validate(r.record) : undefined));
      await tagSets.resolve(valid.flatMap((v) => (v?.ok ? [v.tags] : [])));
      let out = '';
      chunk.forEach((r, i) => {
        const v = valid[i];
        result.records_read++;
        lastLine = r.line;
        if (v?.ok) {
          result.accepted++;
          let hours = touched.get(v.accountId);
          if (!hours) touched.set(v.accountId, (hours = new Set()));
          hours.add(v.hourMs);
          out += `${batchId}\t${r.line}\t${v.orgId}\t${v.productId}\t${iso(v.hourMs)}\t${tagSets.id(v.tags)}\t${v.value}\n`;
        } else {
          const reason: QuarantineReason = v ? v.reason : 'malformed_record';
          const detail = v ? v.detail : 'malformed' in r ? r.malformed : 'unreadable record';
          result.quarantined++;
          result.quarantined_by_reason[reason] = (result.quarantined_by_reason[reason] ?? 0) + 1;
          const cleanDetail = copyText(cleanText(detail, MAX_QUARANTINE_DETAIL));
          quarantine.push(
            `${batchId}\t${file}\t${r.line}\t${reason}\t${cleanDetail}\t${copyText(cleanText(r.raw, MAX_QUARANTINE_RAW))}\n`,
          );
        }
      });
      if (out) await write(facts, out);
      if (quarantine.length >= QUARANTINE_FLUSH) await flushQuarantine();
    };
    for await (const chunk of input.records) await handle(chunk);
    await flushQuarantine();
    await finishCopy(facts);

    const marks = [...touched].flatMap(([account_id, hours]) =>
      [...hours].map((h) => ({ account_id, hour: new Date(h).toISOString() })),
    );
    if (marks.length) await client.query(MARK_PENDING_SQL, [JSON.stringify(marks), batchId]);
    const sha = input.contentSha256();
    result.batch_id = input.batchId ?? sha;
    if (input.replace) {
      const del = await client.query(
        `DELETE FROM usage_facts f
          USING (SELECT DISTINCT org_id, product_id, hour FROM usage_facts WHERE batch_id = $1) k
          WHERE f.org_id = k.org_id AND f.product_id = k.product_id AND f.hour = k.hour AND f.batch_id <> $1`,
        [batchId],
      );
      result.replaced_facts = del.rowCount ?? 0;
    }
    try {
      await client.query(
        `UPDATE ingest_batches SET batch_key = $2, content_sha256 = $3, records_read = $4, accepted = $5,
            quarantined = $6, replaced_facts = $7 WHERE id = $1`,
        [
          batchId,
          result.batch_id,
          sha,
          result.records_read,
          result.accepted,
          result.quarantined,
          result.replaced_facts,
        ],
      );
    } catch (err) {
      // 23505: this batch key was committed first by another ingest (a re-run, or one running concurrently).
      if ((err as { code?: string }).code !== '23505') throw err;
      await client.query('ROLLBACK');
      open = false;
      const prior = await db('ingest_batches').where({ batch_key: result.batch_id }).first();
      return duplicateOf(result, prior);
    }
    await client.query('COMMIT');
    open = false;
    return result;
  } catch (err) {
    if (active) {
      const aborted = once(active, 'close').catch(() => undefined);
      active.destroy(err as Error);
      await aborted;
    }
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    throw loadFailure(input.source, lastLine, err);
  } finally {
    await db.client.releaseConnection(client);
  }
}

/**
 * A transient failure (connection lost, server restarting) is retried as it is. Anything else happens again on
 * every retry of this input: a permanent failure that names the input and where the load was.
 */
function loadFailure(source: string, line: number, err: unknown): unknown {
  if (err instanceof OrgtallyError || isTransientError(err)) return err;
  const e = err as Error;
  const where = line > 0 ? ` at or before line ${line}` : '';
  const state = sqlState(err);
  const code = state ? ` (SQLSTATE ${state})` : '';
  return new OrgtallyError(ErrorType.LoadFailed, `${source}: the load failed${where}: ${e.message}${code}`, {
    cause: err,
  });
}

function duplicateOf(result: IngestResult, prior: Record<string, unknown>): IngestResult {
  return {
    ...result,
    batch_id: String(prior.batch_key),
    records_read: Number(prior.records_read),
    accepted: Number(prior.accepted),
    quarantined: Number(prior.quarantined),
    replaced_facts: 0,
    duplicate_batch: true,
    quarantined_by_reason: {},
  };
}

/**
 * The tag-set dictionary, cached for one batch. New sets are inserted on a separate pooled connection (outside
 * the batch's transaction): the dictionary only grows, and a set left by a rolled-back batch is harmless.
 */
class TagSetDictionary {
  private readonly ids = new Map<string, number>();
  // The validator hands out one frozen array per distinct tag set: look those up without joining.
  private readonly byArray = new WeakMap<readonly string[], number>();
  constructor(private readonly db: Knex) {}

  id(tags: readonly string[]): number {
    let id = this.byArray.get(tags);
    if (id === undefined) {
      id = this.ids.get(tags.join('\n')) as number;
      this.byArray.set(tags, id);
    }
    return id;
  }

  async resolve(sets: (readonly string[])[]): Promise<void> {
    const missing = new Map<string, readonly string[]>();
    for (const t of sets) {
      if (this.byArray.has(t)) continue;
      const k = t.join('\n');
      if (!this.ids.has(k)) missing.set(k, t);
    }
    if (!missing.size) return;
    const entries = [...missing].map(([k, tags]) => ({
      h: createHash('sha256').update(k).digest('hex'),
      t: tags,
      k,
    }));
    await this.db.raw(
      `INSERT INTO tag_sets (tags_hash, tags)
       SELECT e->>'h', ARRAY(SELECT jsonb_array_elements_text(e->'t')) FROM jsonb_array_elements(?::jsonb) e
       ON CONFLICT (tags_hash) DO NOTHING`,
      [JSON.stringify(entries.map(({ h, t }) => ({ h, t })))],
    );
    const rows: { id: number; tags_hash: string }[] = await this.db('tag_sets')
      .whereIn(
        'tags_hash',
        entries.map((e) => e.h),
      )
      .select('id', 'tags_hash');
    const byHash = new Map(rows.map((r) => [r.tags_hash, r.id]));
    for (const e of entries) this.ids.set(e.k, byHash.get(e.h) as number);
  }
}
