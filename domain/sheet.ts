/**
 * CSV and TSV files are opened in spreadsheets, which run a cell starting with `=`, `+`, `-` or `@` (and, in some,
 * a tab or carriage return) as a formula: an org named `=cmd|' /C calc'!A0` would run on a finance laptop. Such a
 * text cell gets a leading `'` (shown as text, not run); numbers such as `-12.5` are left as they are. The SQL
 * that writes files with COPY applies the same rule (db/sql.ts), tested against this one.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;

export function sheetCell(text: string): string {
  return FORMULA_START.test(text) && !NUMBER.test(text) ? `'${text}` : text;
}
