export { ingestDropFolder } from './ingest-drop-folder';
export { dailyAttribution } from './daily-attribution';
