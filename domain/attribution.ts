import { ErrorType, OrgtallyError } from './errors';
import { tagKeyValue } from './tags';

/**
 * Attribution semantics (Datadog's hourly usage attribution). For each configured tag key, a usage row's cell is:
 * the value; `<empty>` when the key is present without value; `a|b` when the key is present with several values
 * (the usage is not split: the combination is its own row); null (a blank cell) when untagged for that key.
 * Normalized tags cannot contain `<`, `>` or `|`, so cells are unambiguous.
 */
export const EMPTY_CELL = '<empty>';

export type Cell = string | null;

export function cellsFor(tags: readonly string[], keys: readonly string[]): Cell[] {
  return keys.map((key) => {
    const values = tags
      .filter((t) => tagKeyValue(t).key === key)
      .map((t) => tagKeyValue(t).value)
      .sort();
    if (!values.length) return null;
    return values.map((v) => (v === '' ? EMPTY_CELL : v)).join('|');
  });
}

/** A cell as the JSON `tags` entry: values array (`[""]` for present-without-value) or null when untagged. */
export function cellValues(cell: Cell): string[] | null {
  if (cell === null) return null;
  return cell.split('|').map((v) => (v === EMPTY_CELL ? '' : v));
}

export function tagsObject(keys: readonly string[], cells: readonly Cell[]): Record<string, string[] | null> {
  return Object.fromEntries(keys.map((k, i) => [k, cellValues(cells[i] ?? null)]));
}

/** `daily_<product>_<YYYY-MM-DD>.tsv`, Datadog's file name. */
export const dailyFileName = (product: string, day: string) => `daily_${product}_${day}.tsv`;

export function dailyHeader(keys: readonly string[]): string {
  return ['public_id', 'org_name', 'formatted_timestamp', ...keys, 'total_usage'].join('\t');
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
export function isDay(s: string): boolean {
  if (!DAY.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** A day named by a caller: a real calendar date (2026-11-31 is refused here, not by Postgres). */
export function checkDay(day: string): void {
  if (!isDay(day)) throw new OrgtallyError(ErrorType.InvalidInput, `day "${day}" is not a date (YYYY-MM-DD)`);
}
