import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { dec, round, text } from '../domain/exact';

/**
 * Exact numbers in JSON. Billed quantities and money are decimal strings inside orgtally; Datadog's clients
 * want JSON numbers. A JsonNumber carries the decimal text and is written into the JSON as that text — the
 * figure a client reads is the figure in Postgres, digit for digit (what it does with it after is its own).
 */
export class JsonNumber {
  constructor(readonly text: string) {
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`"${text}" is not a decimal`);
  }
}

/** A decimal as it is. */
export const exact = (decimal: string): JsonNumber => new JsonNumber(text(dec(decimal)));
/** A field Datadog types as an integer: the decimal rounded half away from zero (the exact one is in orgtally's own API). */
export const integer = (decimal: string): JsonNumber => new JsonNumber(text(round(dec(decimal), 0)));

export const jsonNumber = z.custom<JsonNumber>((v) => v instanceof JsonNumber, 'must be an exact number');
export const jsonInteger = z.custom<JsonNumber>(
  (v) => v instanceof JsonNumber && !v.text.includes('.'),
  'must be an exact integer',
);

// A random marker per process: no string a caller could plant (an org name, a tag) can look like one.
const MARK = `n${randomBytes(9).toString('hex')}n`;
const MARKED = new RegExp(`"${MARK}(-?[0-9.]+)${MARK}"`, 'g');

export function stringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v instanceof JsonNumber ? `${MARK}${v.text}${MARK}` : v,
  ).replace(MARKED, '$1');
}
