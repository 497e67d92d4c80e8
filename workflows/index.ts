export { ingestDropFolder } from './ingest-drop-folder';
