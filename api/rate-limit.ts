/**
 * A fixed window per key and endpoint group, in this process's memory (several server processes each count
 * their own). Datadog's headers, and no Retry-After: Python's client retries on it by itself.
 */
export interface RateLimit {
  /** Requests a key may make per window in one group. */
  limit: number;
  periodSeconds: number;
}

export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
}

export function rateLimiter(cfg: RateLimit, now: () => number = Date.now) {
  const windows = new Map<string, { start: number; count: number }>();
  return (key: string, group: string): RateDecision => {
    const t = now();
    const periodMs = cfg.periodSeconds * 1000;
    const id = `${group}\u0000${key}`;
    let w = windows.get(id);
    if (!w || t - w.start >= periodMs) {
      w = { start: t - (t % periodMs), count: 0 };
      windows.set(id, w);
      if (windows.size > 100_000) windows.clear(); // bounded memory; a cleared window only forgives
    }
    w.count += 1;
    return {
      allowed: w.count <= cfg.limit,
      headers: {
        'X-RateLimit-Limit': String(cfg.limit),
        'X-RateLimit-Period': String(cfg.periodSeconds),
        'X-RateLimit-Remaining': String(Math.max(0, cfg.limit - w.count)),
        'X-RateLimit-Reset': String(Math.ceil((w.start + periodMs - t) / 1000)),
        'X-RateLimit-Name': group,
      },
    };
  };
}
