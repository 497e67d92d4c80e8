import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { HOUR_MS } from '../../domain/time';

/** A deterministic PRNG (mulberry32): the same seed gives the same data on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SampleRecord {
  timestamp: string;
  org: string;
  product: string;
  value: string;
  tags: string[];
}

interface ProductModel {
  code: string;
  /** typical hourly value for an org of size 1 */
  base: number;
  /** host-like gauges are whole numbers */
  integer: boolean;
  decimals: number;
}

/** Realistic hourly behaviour of the example spec's products (examples/acme.json). */
export const SAMPLE_PRODUCTS: ProductModel[] = [
  { code: 'infra_hosts', base: 12, integer: true, decimals: 0 },
  { code: 'containers', base: 40, integer: true, decimals: 0 },
  { code: 'apm_hosts', base: 3, integer: true, decimals: 0 },
  { code: 'apm_ingested_bytes', base: 0.9, integer: false, decimals: 3 },
  { code: 'custom_metrics', base: 220, integer: true, decimals: 0 },
  { code: 'logs_ingested_bytes', base: 1.6, integer: false, decimals: 3 },
  { code: 'logs_indexed_events', base: 0.12, integer: false, decimals: 4 },
  { code: 'synthetics_api_runs', base: 0.05, integer: false, decimals: 4 },
  { code: 'ci_committers', base: 6, integer: true, decimals: 0 },
  { code: 'dbm_hosts', base: 1, integer: true, decimals: 0 },
];

/** The client orgs' sizes and tag sets: nested org, trial org, untagged, `<empty>` and multi-value tags. */
export const SAMPLE_ORGS: { id: string; size: number; tagSets: string[][]; products?: string[] }[] = [
  {
    id: 'acme',
    size: 0.3,
    tagSets: [['team:platform', 'env:prod'], []],
    products: ['infra_hosts', 'containers', 'logs_ingested_bytes', 'logs_indexed_events'],
  },
  {
    id: 'client-a',
    size: 3,
    tagSets: [
      ['team:web', 'env:prod', 'service:checkout'],
      ['team:web', 'env:staging', 'service:checkout'],
      ['team:data', 'env:prod', 'service:etl'],
      ['team:web', 'team:mobile', 'env:prod'],
      [],
    ],
  },
  {
    id: 'client-a-eu',
    size: 1.2,
    tagSets: [
      ['team:web', 'env:prod', 'service:checkout'],
      ['team:', 'env:prod'],
    ],
  },
  {
    id: 'client-b',
    size: 2,
    tagSets: [['team:core', 'env:prod', 'service:api'], ['team:core', 'env:dev'], ['env:prod']],
  },
  { id: 'client-c', size: 0.8, tagSets: [['team:ops', 'env:prod', 'service:billing'], []] },
  {
    id: 'trial-x',
    size: 0.2,
    tagSets: [['env:trial']],
    products: ['infra_hosts', 'logs_ingested_bytes', 'apm_hosts'],
  },
];

const GROWTH_EPOCH = Date.UTC(2026, 0, 1);
const YEAR_MS = 365 * 24 * HOUR_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * The anomalies the demo's alert rules catch (examples/acme.json), placed relative to the end of the whole
 * generated range (`endMs`, exclusive; the demo's as-of, 00:00 UTC), in UTC days:
 *
 * - spike: client-a's logs_ingested_bytes is 5× its normal on the 8th day before the end;
 * - drop: client-b's apm_ingested_bytes falls to 25 % on the 6th day before the end;
 * - stall: client-c sends nothing at all for the last 5 days.
 *
 * With lateness 72 h a day is complete 4 days after it starts, so the spike day is the last complete day at
 * 12:00 four days later, the drop day likewise, and at the end the stall has lasted 120 h.
 */
export const SAMPLE_ANOMALIES = {
  spike: { org: 'client-a', product: 'logs_ingested_bytes', daysBeforeEnd: 8, factor: 5 },
  drop: { org: 'client-b', product: 'apm_ingested_bytes', daysBeforeEnd: 6, factor: 0.25 },
  stall: { org: 'client-c', daysBeforeEnd: 5 },
} as const;

export interface SampleAnomalies {
  /** The end (exclusive) of the whole range the caller generates, usually in several calls. */
  endMs: number;
}

/** Where the anomalies fall for a range ending at `endMs`: the spike and drop days, and the stall's start. */
export function sampleAnomalyDays(endMs: number): { spikeDay: string; dropDay: string; stallFromMs: number } {
  const day = (n: number) => new Date(endMs - n * DAY_MS).toISOString().slice(0, 10);
  return {
    spikeDay: day(SAMPLE_ANOMALIES.spike.daysBeforeEnd),
    dropDay: day(SAMPLE_ANOMALIES.drop.daysBeforeEnd),
    stallFromMs: endMs - SAMPLE_ANOMALIES.stall.daysBeforeEnd * DAY_MS,
  };
}

/**
 * Hourly usage of every sample org × product × tag set over [fromMs, toMs): diurnal and weekly cycles, growth
 * over the year, noise. Yields one record at a time. The same range and seed always give the same records.
 * With `anomalies`, the spike, drop and stall of SAMPLE_ANOMALIES are applied; every other record is the same
 * as without (the noise is drawn for the stalled org's records too, they are just not yielded).
 */
export function* sampleUsage(opts: {
  fromMs: number;
  toMs: number;
  seed?: number;
  anomalies?: SampleAnomalies;
}): Generator<SampleRecord> {
  const rand = prng(opts.seed ?? opts.fromMs / HOUR_MS);
  const a = opts.anomalies && sampleAnomalyDays(opts.anomalies.endMs);
  for (let h = opts.fromMs; h < opts.toMs; h += HOUR_MS) {
    const d = new Date(h);
    const diurnal = 1 + 0.35 * Math.sin(((d.getUTCHours() - 8) / 24) * 2 * Math.PI);
    const weekly = d.getUTCDay() === 0 || d.getUTCDay() === 6 ? 0.75 : 1;
    const growth = 1 + ((h - GROWTH_EPOCH) / YEAR_MS) * 0.5;
    const timestamp = d.toISOString().replace('.000Z', 'Z');
    const day = timestamp.slice(0, 10);
    for (const org of SAMPLE_ORGS) {
      const stalled = a !== undefined && org.id === SAMPLE_ANOMALIES.stall.org && h >= a.stallFromMs;
      for (const p of SAMPLE_PRODUCTS) {
        if (org.products && !org.products.includes(p.code)) continue;
        const gauge = p.integer && p.code !== 'custom_metrics';
        let factor = 1;
        if (a) {
          const { spike, drop } = SAMPLE_ANOMALIES;
          if (day === a.spikeDay && org.id === spike.org && p.code === spike.product) factor = spike.factor;
          if (day === a.dropDay && org.id === drop.org && p.code === drop.product) factor = drop.factor;
        }
        for (let i = 0; i < org.tagSets.length; i++) {
          const tags = org.tagSets[i] as string[];
          const share = 1 / (i + 1.5);
          const cycle = gauge ? 1 + (diurnal - 1) * 0.3 : diurnal * weekly;
          const v = p.base * org.size * share * cycle * growth * (0.85 + rand() * 0.3) * factor;
          if (stalled) continue;
          const value = p.integer ? String(Math.max(0, Math.round(v))) : v.toFixed(p.decimals);
          yield { timestamp, org: org.id, product: p.code, value, tags };
        }
      }
    }
  }
}

/** Writes records as NDJSON, CSV or TSV, streaming (with backpressure), and returns how many were written. */
export async function writeRecords(
  file: string,
  records: Iterable<SampleRecord>,
  format: 'ndjson' | 'csv' | 'tsv',
): Promise<number> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.partial`;
  const out = fs.createWriteStream(tmp);
  if (format !== 'ndjson')
    out.write(
      format === 'csv' ? 'timestamp,org,product,value,tags\n' : 'timestamp\torg\tproduct\tvalue\ttags\n',
    );
  let n = 0;
  let buf = '';
  for (const r of records) {
    buf +=
      format === 'ndjson'
        ? `${JSON.stringify(r)}\n`
        : format === 'csv'
          ? `${r.timestamp},${r.org},${r.product},${r.value},"${r.tags.join(',')}"\n`
          : `${r.timestamp}\t${r.org}\t${r.product}\t${r.value}\t${r.tags.join(',')}\n`;
    n++;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  // Renamed when complete, so a drop-folder reader never sees half a file.
  fs.renameSync(tmp, file);
  return n;
}

/**
 * One record for every quarantine reason, and a few good ones, as NDJSON lines (the demo's "bad feed"). The good
 * ones are client-b's: client-c is the sample's stalled org and must send nothing near the end.
 */
export function badFeedLines(hourIso: string): string[] {
  return [
    JSON.stringify({
      timestamp: hourIso,
      org: 'client-b',
      product: 'infra_hosts',
      value: 3,
      tags: ['env:prod'],
    }),
    '{"timestamp": "2026-01-01T00:00:00Z", "org": "client-b", ',
    JSON.stringify({ timestamp: 'yesterday', org: 'client-b', product: 'infra_hosts', value: 1, tags: [] }),
    JSON.stringify({ timestamp: hourIso, org: 'no-such-org', product: 'infra_hosts', value: 1, tags: [] }),
    JSON.stringify({ timestamp: hourIso, org: 'client-b', product: 'quantum_hosts', value: 1, tags: [] }),
    JSON.stringify({ timestamp: hourIso, org: 'client-b', product: 'infra_hosts', value: -4, tags: [] }),
    JSON.stringify({ timestamp: hourIso, org: 'client-b', product: 'infra_hosts', value: 'NaN', tags: [] }),
    JSON.stringify({
      timestamp: hourIso,
      org: 'client-b',
      product: 'infra_hosts',
      value: 2,
      tags: [':orphan'],
    }),
    JSON.stringify({
      timestamp: '2019-06-01T10:00:00Z',
      org: 'client-b',
      product: 'infra_hosts',
      value: 2,
      tags: [],
    }),
    JSON.stringify({
      timestamp: hourIso,
      org: 'client-b',
      product: 'containers',
      value: '12.5',
      tags: ['Team:Core', 'ENV:Prod'],
    }),
  ];
}
