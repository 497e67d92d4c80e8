import autocannon from 'autocannon';

/**
 * The api line's load generator (`node -r tsx/cjs bench/api-load.ts`, its options as one JSON object on stdin: the
 * keys stay out of the process list). A process of its own, so that sending requests and reading responses of up
 * to 7 MB does not compete with the server for the bench's event loop. Runs autocannon once and prints one JSON
 * line: its figures and this process's CPU seconds during it. Measured runs send a fixed number of requests and
 * wait for every response: a run cut at a fixed duration abandons the requests in flight, work the server did that
 * the figure would not count (up to a request per connection, much of a run when one request takes seconds).
 */
export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  connections: number;
  /** Requests to send (the measured run), else a run of `durationS` (the warm-up). */
  amount?: number;
  durationS: number;
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
  const cpu0 = process.cpuUsage();
  const r = await autocannon({
    url: o.url,
    headers: o.headers,
    connections: o.connections,
    ...(o.amount === undefined ? { duration: o.durationS } : { amount: o.amount }),
    timeout: 60,
    // autocannon notices the last response at its next sample: every 50 ms, not every second, or a 5 s run of
    // fixed size would be timed up to 20 % long.
    sampleInt: 50,
  });
  const cpu = process.cpuUsage(cpu0);
  const report: LoadReport = {
    requests: r.requests.total,
    seconds: r.duration,
    rps: r.requests.total / r.duration,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    bytes_per_response: r.requests.total ? r.throughput.total / r.requests.total : 0,
    cpu_s: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exit(1);
});
