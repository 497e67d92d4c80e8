/** What the phases ran, for the summary. */
export interface Ran {
  ingestId: string;
  scheduleIds: string[];
  backfill: BackfillRan;
  estimates: { ids: string[]; skipped: number };
}

export interface BackfillRan {
  id: string;
  runs: number;
  months: string[];
  /** The last complete month: its chargeback, trends and report are shown. */
  lastMonth: string;
  lastVersion: number | undefined;
}
