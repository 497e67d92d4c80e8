/**
 * Workflow ids are idempotency keys (docs/adr/0007-workflow-ids.md): the same id never runs twice at once, so a
 * schedule, a backfill and an operator doing the same work meet on one workflow. Built here only — by workflows,
 * the CLI, the schedules and the benchmark alike.
 */
export const workflowIds = {
  ingestDropFolder: (asOfIso: string) => `ingest-drop/${asOfIso}`,
  dailyAttribution: (accountId: string, day: string) => `attribution/${accountId}/${day}`,
  monthEndClose: (accountId: string, month: string) => `month-end/${accountId}/${month}`,
  sixMonthTrends: (accountId: string, month: string) => `trends/${accountId}/${month}`,
  /** hourIso: the estimated hour, `YYYY-MM-DDThh:00:00Z` (isoHour). */
  usageEstimates: (accountId: string, hourIso: string) => `estimates/${accountId}/${hourIso}`,
  delivery: (ledgerId: string) => `delivery/${ledgerId}`,
  backfill: (accountId: string, from: string, to: string) => `backfill/${accountId}/${from}/${to}`,
  /** A schedule's runs: Temporal appends the scheduled time (`scheduled/acme/attribution-2026-10-05T00:30:00Z`). */
  scheduledRun: (name: string) => `scheduled/${name}`,
};
