import { parseNonNegativeDecimal } from './decimal';
import { normalizeTagSet, splitTagField } from './tags';
import { DAY_MS, HOUR_MS, parseHour } from './time';

/** Why a record was quarantined. Stable codes: operators filter on them and reports count by them. */
export const QUARANTINE_REASONS = [
  'malformed_record', // not a JSON object / wrong number of columns / missing field
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

export interface Catalog {
  /** org public id → internal id and the account it belongs to */
  org(publicId: string): { id: number; accountId: string } | undefined;
  /** product id in the org's account */
  product(accountId: string, code: string): number | undefined;
}

export interface ValidFact {
  ok: true;
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

/** Checks one record; the first failing rule decides the reason (timestamp, org, product, value, tags). */
export function validateRecord(
  rec: RawRecord,
  catalog: Catalog,
  window: ValidationWindow,
): ValidFact | Rejection {
  const hour = parseHour(rec.timestamp);
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
  const org = catalog.org(rec.org.trim());
  if (!org) return reject('unknown_org', `org "${rec.org}" is not in any account`);
  if (typeof rec.product !== 'string' || rec.product.trim() === '')
    return reject('unknown_product', 'product is missing');
  const productId = catalog.product(org.accountId, rec.product.trim());
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
  const tags = normalizeTagSet(rawTags);
  if (!tags.ok) return reject('malformed_tag', tags.detail);
  return { ok: true, orgId: org.id, productId, hourMs: hour.hourMs, tags: tags.tags, value: value.value };
}
