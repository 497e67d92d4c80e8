import type { Knex } from 'knex';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ingestStream } from '../../activities/ingest-file';
import { renderVersion, versionDir } from '../../activities/month-end';
import { applyAccountSpec } from '../../db/accounts';
import { attributeDay } from '../../db/attribution';
import { exportDay } from '../../db/attribution-files';
import { closeMonth } from '../../db/month-end';
import { monthDays } from '../../db/month-period';
import { sheetCellSql } from '../../db/sql';
import { computeTrends } from '../../db/trends';
import { sheetCell } from '../../domain/sheet';
import { cloneTestDatabase } from '../support/db';
import { parseSpec, rec, tempDir, TEST_AS_OF } from '../support/fixtures';

/** What orgtally writes for people to open: spreadsheets that cannot run formulas, files that never change. */
let db: Knex;
let drop: () => Promise<void>;
let out: string;
beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  out = tempDir('outputs');
  await applyAccountSpec(
    db,
    parseSpec({
      account: { id: 'msp', name: 'MSP' },
      orgs: [
        { id: 'msp', name: 'MSP' },
        { id: 'evil', name: "=cmd|' /C calc'!A0", parent: 'msp' },
        { id: 'plus', name: '+1 (555) 0100', parent: 'msp' },
      ],
      products: [{ code: 'logs', unit: 'GB', aggregation: 'sum' }],
      commitments: [{ product: 'logs', quantity: 10, committed_price: '1.00', on_demand_price: '2.00' }],
      attribution: { tag_keys: ['kube.namespace', 'team'] },
    }),
    { asOfMs: TEST_AS_OF },
  );
});
afterAll(async () => drop());

const AS_OF = '2026-11-28T00:00:00Z';

async function ingest(lines: string[]) {
  return ingestStream(db, {
    source: 'outputs.ndjson',
    stream: Readable.from([lines.map((l) => `${l}\n`).join('')]),
    format: 'ndjson',
    asOfMs: TEST_AS_OF,
    retentionDays: 400,
  });
}

async function close(month: string) {
  for (const day of (await monthDays(db, 'msp', month)).toAttribute)
    await attributeDay(db, { accountId: 'msp', day });
  const r = await closeMonth(db, { accountId: 'msp', month, asOf: AS_OF });
  await computeTrends(db, { accountId: 'msp', month });
  return r;
}

const allFiles = (dir: string): string[] =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: false }).map((f) => path.join(dir, String(f)));

describe('outputs', () => {
  beforeAll(async () => {
    await ingest([
      rec('2026-09-10T10:00:00Z', 'evil', 'logs', 5, ['kube.namespace:-billing', 'team:@ops']),
      rec('2026-10-10T10:00:00Z', 'evil', 'logs', 7, ['kube.namespace:-billing', 'team:@ops']),
      rec('2026-10-11T10:00:00Z', 'plus', 'logs', 3, ['kube.namespace:web']),
    ]);
    await close('2026-09');
    await close('2026-10');
  });

  it('a tag key with "." closes the month and names its summary file and column', async () => {
    const { files } = await renderVersion(db, out, { accountId: 'msp', month: '2026-10', version: 1 });
    const summary = files.find((f) => f.name === 'summary_kube.namespace_2026-10_v1.tsv');
    expect(summary).toBeDefined();
    const header = fs.readFileSync(summary?.path as string, 'utf8').split('\n')[0];
    expect(header).toBe('public_id\torg_name\tkube.namespace\tlogs');
  });

  it('text a spreadsheet would run as a formula is escaped in every CSV and TSV; numbers are not', async () => {
    const dir = versionDir(out, { accountId: 'msp', month: '2026-10', version: 1 });
    const byOrg = fs.readFileSync(path.join(dir, 'month_end_msp_2026-10_v1_by_org.csv'), 'utf8');
    expect(byOrg).toContain(`evil,'=cmd|' /C calc'!A0,`);
    expect(byOrg).toContain(`plus,'+1 (555) 0100,`);
    const byTag = fs.readFileSync(path.join(dir, 'month_end_msp_2026-10_v1_by_tag.csv'), 'utf8');
    expect(byTag).toContain(`,'-billing,_ops,`); // "@" is not a tag character: normalized to "_"
    expect(byTag).toContain(`,web,"",3,`); // untagged for team: the empty text, quoted by COPY
    const summary = fs.readFileSync(path.join(dir, 'summary_team_2026-10_v1.tsv'), 'utf8');
    expect(summary).toContain(`evil\t'=cmd|' /C calc'!A0\t_ops\t7`);
    const daily = await exportDay(db, { accountId: 'msp', day: '2026-10-10', outputDir: out });
    const logs = fs.readFileSync(daily[0]?.file as string, 'utf8');
    expect(logs).toContain(`evil\t'=cmd|' /C calc'!A0\t2026-10-10 10:00:00\t'-billing\t_ops\t7`);
    // no cell anywhere starts with a formula character unless it is a number
    for (const f of allFiles(out).filter((x) => /\.(csv|tsv)$/.test(x))) {
      for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
        for (const cell of line.split(f.endsWith('.csv') ? ',' : '\t')) {
          expect(/^[=+@]|^-(?![0-9.]+$)/.test(cell.replace(/^"/, ''))).toBe(false);
        }
      }
    }
  });

  it('the SQL that writes files escapes exactly what the CLI escapes', async () => {
    const cases = [
      '=1+1',
      '+1',
      '-1',
      '-12.5',
      '-a1',
      '@x',
      '\tx',
      '\rx',
      'a=b',
      '',
      '12',
      "'=x",
      '-',
      '1e5',
      '-.5',
    ];
    const { rows } = await db.raw(
      `SELECT ${sheetCellSql('c').replace(/\?/g, '\\?')} AS v FROM unnest(?::text[]) WITH ORDINALITY AS t(c, i) ORDER BY i`,
      [cases],
    );
    expect(rows.map((r: { v: string }) => r.v)).toEqual(cases.map(sheetCell));
    expect(cases.map(sheetCell)).toEqual([
      "'=1+1",
      "'+1",
      '-1',
      '-12.5',
      "'-a1",
      "'@x",
      "'\tx",
      "'\rx",
      'a=b',
      '',
      '12',
      "'=x",
      "'-",
      '1e5',
      "'-.5",
    ]);
  });

  it("a killed writer's temporary files are removed by the next write of the same file", async () => {
    const ref = { accountId: 'msp', month: '2026-10', version: 1 };
    const daily = path.join(out, 'msp', 'attribution', 'daily_logs_2026-10-10.tsv');
    const report = path.join(versionDir(out, ref), 'report.html');
    for (const f of [daily, report]) fs.writeFileSync(`${f}.tmp-99999-deadbeef`, 'half a file');
    await exportDay(db, { accountId: 'msp', day: '2026-10-10', outputDir: out });
    await renderVersion(db, out, ref);
    for (const f of [daily, report]) expect(fs.existsSync(`${f}.tmp-99999-deadbeef`)).toBe(false);
  });

  it('files are 0640 and folders 0750 (a folder made earlier with another mode too); no temporary file left', async () => {
    const attribution = path.join(out, 'msp', 'attribution');
    fs.chmodSync(attribution, 0o755);
    await exportDay(db, { accountId: 'msp', day: '2026-10-11', outputDir: out });
    expect(fs.statSync(attribution).mode & 0o777).toBe(0o750);
    for (const f of allFiles(out)) {
      const mode = fs.statSync(f).mode & 0o777;
      expect([f, mode]).toEqual([f, fs.statSync(f).isDirectory() ? 0o750 : 0o640]);
      expect(f).not.toMatch(/\.tmp-|\.partial$/);
    }
  });

  it("a version's files and mail never change once written, even when the month before is restated", async () => {
    const ref = { accountId: 'msp', month: '2026-10', version: 1 };
    const dir = versionDir(out, ref);
    const before = Object.fromEntries(allFiles(dir).map((f) => [f, fs.readFileSync(f, 'utf8')]));
    const first = await renderVersion(db, out, ref);
    // Late data restates September; October's trends (September is one of its six months) move.
    await ingest([rec('2026-09-11T10:00:00Z', 'plus', 'logs', 100, ['kube.namespace:web'])]);
    expect(await close('2026-09')).toMatchObject({ outcome: 'created', version: 2 });
    const again = await renderVersion(db, out, ref);
    expect(again.html).toBe(first.html);
    expect(again.text).toBe(first.text);
    expect(Object.fromEntries(allFiles(dir).map((f) => [f, fs.readFileSync(f, 'utf8')]))).toEqual(before);
    // A fresh folder (a worker on another host) gets the same bytes.
    const elsewhere = tempDir('outputs-elsewhere');
    await renderVersion(db, elsewhere, ref);
    const there = versionDir(elsewhere, ref);
    for (const f of allFiles(dir))
      expect(fs.readFileSync(path.join(there, path.basename(f)), 'utf8')).toBe(before[f]);
  });
});
