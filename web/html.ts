import { escapeHtml } from '../domain/escape';

/**
 * HTML built by a tagged template that escapes every value it is given: a page cannot print an org name, a tag
 * or an error message as markup by mistake. Markup made here (or an SVG made by ECharts) is an `Html` and is
 * inserted as it is.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export const escape = escapeHtml;

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function piece(v: Value): string {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(piece).join('');
  return escape(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => (out += piece(v) + (strings[i + 1] ?? '')));
  return new Html(out);
}

/** Markup this process made itself (never text from a user or the database). */
export const trusted = (s: string): Html => new Html(s);

/** `?a=1&b=2` from the parameters that are set, in the order given (URLs stay stable and bookmarkable). */
export function href(path: string, params: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
