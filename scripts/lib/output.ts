import { sheetCell } from '../../domain/sheet';

/**
 * What the CLI prints. Text from ingested files and specs reaches the operator's terminal: control characters
 * (escape sequences that move the cursor, retitle the window or hide text) are shown as U+FFFD, never sent.
 * CSV and TSV are written for spreadsheets: text that would run as a formula is escaped (domain/sheet.ts).
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function terminalSafe(text: string): string {
  return text.replace(CONTROL, '\uFFFD');
}

/** Rows as an aligned text table. */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (!rows.length) return '(none)';
  const cols = columns ?? Object.keys(rows[0] as object);
  const cells = rows.map((r) => cols.map((c) => terminalSafe(String(r[c] ?? '')).replace(/[\r\n\t]/g, ' ')));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Rows as JSON lines (`--json`: JSON escapes control characters), or as a table of the view of each row. */
export function printRows<T>(
  rows: readonly T[],
  json: boolean | undefined,
  view: (r: T) => Record<string, unknown>,
): void {
  if (json) {
    for (const r of rows) console.log(JSON.stringify(r));
    return;
  }
  console.log(table(rows.map(view)));
}

const cellText = (v: unknown) => terminalSafe(v === null || v === undefined ? '' : sheetCell(String(v)));

/** RFC 4180: quote a field that holds a comma, quote or line break. */
export function csvLine(values: readonly unknown[]): string {
  return values
    .map((v) => {
      const s = cellText(v);
      return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',');
}

/** Rows as CSV on stdout: a header from the first row's keys, one line per row. */
export function printCsv(rows: readonly Record<string, unknown>[]): void {
  const cols = Object.keys(rows[0] ?? {});
  console.log(csvLine(cols));
  for (const r of rows) console.log(csvLine(cols.map((c) => r[c])));
}

/** A TSV line: tabs and line breaks inside a value would shift the columns, so they become spaces. */
export function tsvLine(values: readonly unknown[]): string {
  return values.map((v) => cellText(v).replace(/[\t\r\n]/g, ' ')).join('\t');
}
