import { parseNonNegativeDecimal } from './decimal';
import { normalizeTagSet, splitTagField } from './tags';
import { DAY_MS, HOUR_MS, parseHour } from './time';

/** Why a record was quarantined. Stable codes: operators filter on them and reports count by them. */
export const QUARANTINE_REASONS = [
  'malformed_record', // not valid JSON / not an object / wrong number of columns (a missing org or product is unknown_*)
  'bad_timestamp',
  'unknown_org',
  'unknown_product',
  'bad_value', // negative, NaN, infinite, not a number
  'malformed_tag',
  'hour_outside_retention', // older than the retention window, or in the future
] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

/** A record as read from a file, before validation: fields are whatever the file held. */
export interface RawRecord {
  timestamp: unknown;
  org: unknown;
  product: unknown;
  value: unknown;
  /** An array (NDJSON) or a comma-separated string (CSV/TSV); absent means untagged. */
  tags: unknown;
}

export type InputFormat = 'ndjson' | 'csv' | 'tsv';

/** One input record: its line, its raw text, and either the fields read or why they could not be read. */
export type ReadRecord = { line: number; raw: string } & ({ record: RawRecord } | { malformed: string });

/** Quarantined text is kept readable and bounded: NUL (which Postgres text cannot hold) becomes U+FFFD. */
export const MAX_QUARANTINE_RAW = 4096;
export const MAX_QUARANTINE_DETAIL = 1024;

export function cleanText(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.includes('\u0000') ? s.replace(/\u0000/g, '\uFFFD') : s;
  if (clean.length <= max) return clean;
  return `${clean.slice(0, max)}… [${clean.length} characters in all]`;
}

export interface Catalog {
  /** org public id → internal id and the account it belongs to */
  org(publicId: string): { id: number; accountId: string } | undefined;
  /** product id in the org's account */
  product(accountId: string, code: string): number | undefined;
}

export interface ValidFact {
  ok: true;
  accountId: string;
  orgId: number;
  productId: number;
  hourMs: number;
  tags: string[];
  value: string;
}
export interface Rejection {
  ok: false;
  reason: QuarantineReason;
  detail: string;
}

export interface ValidationWindow {
  asOfMs: number;
  retentionDays: number;
}

const reject = (reason: QuarantineReason, detail: string): Rejection => ({ ok: false, reason, detail });

export interface Parsers {
  hour: typeof parseHour;
  tags: typeof normalizeTagSet;
}
const PLAIN: Parsers = { hour: parseHour, tags: normalizeTagSet };

/** Checks one record; the first failing rule decides the reason (timestamp, org, product, value, tags). */
export function validateRecord(
  rec: RawRecord,
  catalog: Catalog,
  window: ValidationWindow,
  parsers: Parsers = PLAIN,
): ValidFact | Rejection {
  const hour = parsers.hour(rec.timestamp);
  if (!hour.ok) return reject('bad_timestamp', hour.detail);
  const earliest = Math.floor((window.asOfMs - window.retentionDays * DAY_MS) / HOUR_MS) * HOUR_MS;
  if (hour.hourMs < earliest) {
    return reject(
      'hour_outside_retention',
      `hour ${new Date(hour.hourMs).toISOString()} is older than ${window.retentionDays} days`,
    );
  }
  if (hour.hourMs > window.asOfMs) {
    return reject('hour_outside_retention', `hour ${new Date(hour.hourMs).toISOString()} is in the future`);
  }
  if (typeof rec.org !== 'string' || rec.org.trim() === '') return reject('unknown_org', 'org is missing');
  const org = catalog.org(rec.org) ?? catalog.org(rec.org.trim());
  if (!org) return reject('unknown_org', `org "${rec.org}" is not in any account`);
  if (typeof rec.product !== 'string' || rec.product.trim() === '')
    return reject('unknown_product', 'product is missing');
  const productId =
    catalog.product(org.accountId, rec.product) ?? catalog.product(org.accountId, rec.product.trim());
  if (productId === undefined) {
    return reject('unknown_product', `product "${rec.product}" is not in account "${org.accountId}"`);
  }
  const value = parseNonNegativeDecimal(rec.value);
  if (!value.ok) return reject('bad_value', value.detail);
  let rawTags: unknown[];
  if (rec.tags === undefined || rec.tags === null) rawTags = [];
  else if (typeof rec.tags === 'string') rawTags = splitTagField(rec.tags);
  else if (Array.isArray(rec.tags)) rawTags = rec.tags;
  else return reject('malformed_tag', 'tags must be an array of "key:value" strings');
  const tags = parsers.tags(rawTags);
  if (!tags.ok) return reject('malformed_tag', tags.detail);
  return {
    ok: true,
    accountId: org.accountId,
    orgId: org.id,
    productId,
    hourMs: hour.hourMs,
    tags: tags.tags,
    value: value.value,
  };
}

/**
 * validateRecord with memoized timestamp and tag-set parsing: a feed repeats the same few hours and tag sets
 * millions of times. Equal inputs return the same (frozen) tag array, so callers may key caches on it.
 */
export function createValidator(
  catalog: Catalog,
  window: ValidationWindow,
): (rec: RawRecord) => ValidFact | Rejection {
  const hours = new Map<unknown, ReturnType<typeof parseHour>>();
  const tagSets = new Map<string, ReturnType<typeof normalizeTagSet>>();
  const parsers: Parsers = {
    hour: (input) => {
      let r = hours.get(input);
      if (r === undefined) {
        if (hours.size > 100_000) hours.clear();
        r = parseHour(input);
        hours.set(input, r);
      }
      return r;
    },
    tags: (raw) => {
      if (!raw.every((t) => typeof t === 'string')) return normalizeTagSet(raw);
      // Each tag prefixed by its length: no tag's characters can make two different sets look alike.
      let key = '';
      for (const t of raw as string[]) key += `${t.length}:${t}`;
      let r = tagSets.get(key);
      if (r === undefined) {
        if (tagSets.size > 100_000) tagSets.clear();
        r = normalizeTagSet(raw);
        if (r.ok) Object.freeze(r.tags);
        tagSets.set(key, r);
      }
      return r;
    },
  };
  return (rec) => validateRecord(rec, catalog, window, parsers);
}
