/** Option values checked once, each error naming the option and what it takes. */
export function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(
      `${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, not "${value}"`,
    );
  return value as T;
}

export function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1)
    throw new Error(`${flag} must be a whole number from 1, not "${text}"`);
  return n;
}
