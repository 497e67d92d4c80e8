/**
 * Datadog-style tag normalization. A tag is `key:value` (split at the first colon); `key` or `key:` means
 * "key present, empty value". Lower-cased; any character other than a letter, digit, `_ - : . /` becomes `_`;
 * at most 200 characters; the key must start with a letter.
 */
export const MAX_TAG_LENGTH = 200;

export type TagResult = { ok: true; tag: string } | { ok: false; detail: string };

const DISALLOWED = /[^\p{L}\p{N}_\-:./]/gu;

export function normalizeTag(raw: string): TagResult {
  const trimmed = raw.trim();
  if (trimmed === '') return { ok: false, detail: 'empty tag' };
  let tag = trimmed.toLowerCase().replace(DISALLOWED, '_');
  // `team` and `team:` are the same tag (key present, empty value); the canonical form keeps the colon and
  // still fits in 200 characters.
  if (!tag.includes(':')) tag = `${[...tag].slice(0, MAX_TAG_LENGTH - 1).join('')}:`;
  else if (tag.length > MAX_TAG_LENGTH) tag = [...tag].slice(0, MAX_TAG_LENGTH).join('');
  const colon = tag.indexOf(':');
  const key = tag.slice(0, colon);
  if (key === '') return { ok: false, detail: `tag "${raw}" has no key` };
  if (!/^\p{L}/u.test(key)) return { ok: false, detail: `tag key "${key}" must start with a letter` };
  return { ok: true, tag };
}

export type TagSetResult = { ok: true; tags: string[] } | { ok: false; detail: string };

/** Normalizes, deduplicates and sorts: equal sets have one canonical form. */
export function normalizeTagSet(raw: readonly unknown[]): TagSetResult {
  const out = new Set<string>();
  for (const t of raw) {
    if (typeof t !== 'string') return { ok: false, detail: `tag ${JSON.stringify(t)} is not a string` };
    const r = normalizeTag(t);
    if (!r.ok) return r;
    out.add(r.tag);
  }
  return { ok: true, tags: [...out].sort() };
}

/** Splits the comma-separated tags field of CSV/TSV input. An empty field is an empty set. */
export function splitTagField(field: string): string[] {
  return field.trim() === '' ? [] : field.split(',');
}

/** The key and value of a normalized tag. */
export function tagKeyValue(tag: string): { key: string; value: string } {
  const i = tag.indexOf(':');
  return { key: tag.slice(0, i), value: tag.slice(i + 1) };
}
