/**
 * The tag sets, in normalized form (sorted): untagged; a multi-value key; a key present without value (and the
 * other keys absent); a set that differs from the next only by a tag that is not an attribution key (both land in
 * the same cells); the rest one value per key.
 */
export function attributionTagSets(n: number): string[][] {
  if (n < 5) throw new Error('attribution bench needs at least 5 tag sets');
  const normal = (i: number) => [`team:t${i % 4}`, `env:${i % 2 ? 'prod' : 'dev'}`, `service:svc${i}`];
  return Array.from({ length: n }, (_, i) =>
    i === 0
      ? []
      : i === 1
        ? ['env:prod', 'team:a', 'team:b']
        : i === 2
          ? ['service:svc2', 'team:']
          : i === 3
            ? [...normal(4), 'region:eu']
            : normal(i),
  ).map((t) => [...t].sort());
}
