import autocannon from 'autocannon';

/**
 * The api line's load generator (`node -r tsx/cjs bench/api-load.ts`, its options as one JSON object on stdin: the
 * keys stay out of the process list). A process of its own, so that sending requests and reading 1–3 MB responses
 * does not compete with the server for the bench's event loop. Runs autocannon once to warm up, then once measured,
 * and prints one JSON line: the measured run's figures and this process's CPU seconds during it.
 */
export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  connections: number;
  durationS: number;
  warmupS: number;
}

export interface LoadReport {
  requests: number;
  seconds: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Bytes per response body and headers, on average. */
  bytes_per_response: number;
  cpu_s: number;
}

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += (chunk as Buffer).toString();
  return s;
}

async function main(): Promise<void> {
  const o = JSON.parse(await readStdin()) as LoadOptions;
  const run = (duration: number) =>
    autocannon({ url: o.url, headers: o.headers, connections: o.connections, duration, timeout: 30 });
  // A failing warm-up is reported like a failing run: a refused key would otherwise only show as fast 403s.
  const warm = await run(o.warmupS);
  const cpu0 = process.cpuUsage();
  const r = await run(o.durationS);
  const cpu = process.cpuUsage(cpu0);
  const report: LoadReport = {
    requests: r.requests.total,
    seconds: r.duration,
    rps: r.requests.total / r.duration,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    non2xx: r.non2xx + warm.non2xx,
    errors: r.errors + warm.errors,
    timeouts: r.timeouts + warm.timeouts,
    bytes_per_response: r.requests.total ? r.throughput.total / r.requests.total : 0,
    cpu_s: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exit(1);
});
