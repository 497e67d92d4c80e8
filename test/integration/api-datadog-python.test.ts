import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { byOrg, byTag, findVersion, type VersionRow } from '../../db/month-end-report';
import { datadogName } from '../../domain/datadog-names';
import { add, dec, round, text, ZERO } from '../../domain/exact';
import { PROJECT_ROOT } from '../../infra/config';
import { apiFixture, type ApiFixture } from '../support/api';
import { inCurrency } from '../support/currency';

/**
 * The official Datadog Python client (PyPI datadog-api-client 2.62, installed into .tools/ on first use) against
 * orgtally: the client Datadog users script with most. Its models refuse what Datadog would not send (a
 * `YYYY-MM` date-time, a string in an integer field), so parsing at all is half the test; the figures are the rest.
 */
const run = promisify(execFile);
const TARGET = path.join(PROJECT_ROOT, '.tools', 'datadog-api-client-2.62.0');
let f: ApiFixture;
let oct: VersionRow;

async function installClient(): Promise<void> {
  if (fs.existsSync(path.join(TARGET, 'datadog_api_client'))) return;
  await run(
    'python3',
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--target',
      TARGET,
      'datadog-api-client==2.62.0',
    ],
    {
      timeout: 240_000,
    },
  );
}

beforeAll(async () => {
  await installClient();
  f = await apiFixture({ pageSize: 7 });
  oct = (await findVersion(f.db, 'acme', '2026-10')) as VersionRow;
}, 300_000);
afterAll(async () => f?.close());

interface Read {
  billable: { public_id: string; usage: Record<string, Record<string, unknown>> }[];
  monthly: {
    pages: number;
    rows: { public_id: string; tags: Record<string, string[]>; values: Record<string, number> }[];
  };
  historical: { public_id: string; total_cost: number; currency: string | null }[];
}

it('reads the billable summary, every page of monthly attribution and the historical cost, equal to the close', async () => {
  const keys = f.keys['acme/admin'] as { api_key: string; application_key: string };
  // An account in EUR: the client parses the extra attribute and hands it on.
  const { stdout } = await inCurrency(f.db, 'EUR', () =>
    run('python3', [path.join(__dirname, '../support/python/datadog_client.py'), f.url], {
      env: { ...process.env, PYTHONPATH: TARGET, DD_API_KEY: keys.api_key, DD_APP_KEY: keys.application_key },
      timeout: 60_000,
    }),
  );
  const read = JSON.parse(stdout) as Read;
  const orgs = await byOrg(f.db, oct);

  for (const o of orgs) {
    const dim = read.billable.find((r) => r.public_id === o.public_id)?.usage[datadogName(o.usage_type)];
    expect([o.public_id, o.usage_type, dim?.org_billable_usage]).toEqual([
      o.public_id,
      o.usage_type,
      Number(text(round(dec(o.billable_usage), 0))),
    ]);
  }

  expect(read.monthly.pages).toBeGreaterThan(2);
  const tagRows = await byTag(f.db, oct);
  const infra = tagRows.filter((r) => r.usage_type === 'infra_hosts');
  const got = read.monthly.rows.filter((r) => (r.values.infra_host_usage ?? 0) > 0);
  expect(got.map((r) => r.values.infra_host_usage).sort()).toEqual(
    infra
      .filter((r) => Number(r.total_usage) > 0)
      .map((r) => Number(r.total_usage))
      .sort(),
  );

  for (const id of new Set(orgs.map((o) => o.public_id))) {
    const want = orgs.filter((o) => o.public_id === id).reduce((s, o) => add(s, dec(o.total_cost)), ZERO);
    expect(read.historical.find((h) => h.public_id === id)?.total_cost).toBe(Number(text(want)));
  }
  expect(read.historical.length).toBeGreaterThan(0);
  expect(new Set(read.historical.map((h) => h.currency))).toEqual(new Set(['EUR']));
});
