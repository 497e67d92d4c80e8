/** SQL text helpers for the statements that cannot take parameters (COPY, identifiers). */

/** A Postgres identifier, quoted: any text, "." and quotes included, is one column name. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** domain/sheet.ts's sheetCell as a SQL expression over a text expression, for files written by COPY. */
export function sheetCellSql(expr: string): string {
  return `(CASE WHEN ${expr} ~ '^[-=+@\\t\\r]' AND ${expr} !~ '^-?[0-9]+(\\.[0-9]+)?$' THEN '''' || ${expr} ELSE ${expr} END)`;
}
