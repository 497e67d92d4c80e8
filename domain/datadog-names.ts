/**
 * Datadog's names for products that have one (its usage types, as the official clients' enums spell them), so
 * that a client can ask for `infra_host_usage` and read `infra_host`. A product without one is named by its own
 * code: `<code>_usage`, `<code>` (docs/api.md says so).
 */
const DATADOG_NAME: Readonly<Record<string, string>> = {
  infra_hosts: 'infra_host',
  apm_hosts: 'apm_host',
  containers: 'container',
  custom_metrics: 'custom_timeseries',
  apm_ingested_bytes: 'ingested_spans_bytes',
  logs_ingested_bytes: 'ingested_logs_bytes',
  synthetics_api_runs: 'api',
  dbm_hosts: 'dbm_hosts',
};

export const datadogName = (code: string): string => DATADOG_NAME[code] ?? code;

/** The product a Datadog name (or a product code) stands for, among an account's products. */
export function productOfName(name: string, codes: readonly string[]): string | undefined {
  if (codes.includes(name)) return name;
  return codes.find((c) => DATADOG_NAME[c] === name);
}
