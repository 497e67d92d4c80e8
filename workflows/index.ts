export { ingestDropFolder } from './ingest-drop-folder';
export { dailyAttribution } from './daily-attribution';
export { monthEndClose } from './month-end-close';
export { delivery } from './delivery';
export { sixMonthTrends } from './six-month-trends';
export { usageEstimates } from './usage-estimates';
export { scheduledRun } from './scheduled-run';
export { backfill } from './backfill';
