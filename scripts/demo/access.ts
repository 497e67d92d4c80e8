import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { buildServer } from '../../api/server';
import { addUser, createRole, listRoles } from '../../db/access';
import { createKey, listKeys, revokeKey, type CreatedKey } from '../../db/keys';
import { PROJECT_ROOT, type Config } from '../../infra/config';
import { isAlive, portFree, sleep } from '../../infra/process';
import { log, step } from './log';

/**
 * Who may see what, shown as a user meets it: the parent's admin, a finance user (custom role usage_read +
 * billing_read) and a child org's admin, each with a fresh key; the API on the demo's data, asked over HTTP as
 * each of them. With --keep the API stays up in the background (`orgtally dev down` stops it).
 */
export const PEOPLE = [
  { email: 'admin@acme.example', org: 'acme', role: 'admin', who: "the parent's admin" },
  {
    email: 'finance-team@acme.example',
    org: 'acme',
    role: 'finance',
    who: 'finance (usage_read + billing_read)',
  },
  { email: 'admin@client-a.example', org: 'client-a', role: 'admin', who: "client A's admin" },
] as const;
const ACTOR = 'cli:demo';

export async function accessPhase(db: Knex, config: Config, keep: boolean): Promise<{ port: number }> {
  step('Users, roles and keys');
  const keys = await db.transaction(async (trx) => {
    if (!(await listRoles(trx, 'acme')).some((r) => r.name === 'finance'))
      await createRole(trx, {
        accountId: 'acme',
        name: 'finance',
        permissions: ['usage_read', 'billing_read'],
        actor: ACTOR,
      });
    const out: CreatedKey[] = [];
    for (const p of PEOPLE) {
      await addUser(trx, { accountId: 'acme', email: p.email, org: p.org, roles: [p.role], actor: ACTOR });
      // A demo run's keys replace the previous run's: they were printed once, and only once.
      for (const k of await listKeys(trx, 'acme', p.email))
        if (k.name === 'demo' && k.revoked_at === null)
          await revokeKey(trx, { accountId: 'acme', id: k.id, actor: ACTOR });
      out.push(await createKey(trx, { accountId: 'acme', email: p.email, name: 'demo', actor: ACTOR }));
    }
    return out;
  });
  PEOPLE.forEach((p, i) => {
    const k = keys[i] as CreatedKey;
    log(
      `${p.email} in ${p.org}, ${p.who}:\n  DD-API-KEY=${k.api_key}\n  DD-APPLICATION-KEY=${k.application_key}`,
    );
  });
  log('(keys are shown once: the database keeps their SHA-256 digests; `orgtally keys list --account acme`)');

  step('The Datadog-compatible API');
  const port = (await portFree(config.httpPort)) ? config.httpPort : 0;
  const app = await buildServer({ db, rateLimit: { limit: config.apiRateLimit, periodSeconds: 60 } });
  const base = (await app.listen({ host: config.httpHost, port })).replace('[::1]', '127.0.0.1');
  try {
    const month = (await db('month_end_versions').where({ account_id: 'acme' }).max('month as m').first())
      ?.m as Date;
    const m = new Date(month).toISOString().slice(0, 7);
    const billable = `/api/v1/usage/billable-summary?month=${m}`;
    for (const [i, p] of PEOPLE.entries()) {
      const k = keys[i] as CreatedKey;
      const res = await fetch(base + billable, {
        headers: { 'DD-API-KEY': k.api_key, 'DD-APPLICATION-KEY': k.application_key },
      });
      const body = (await res.json()) as { usage?: { public_id: string }[]; errors?: string[] };
      log(
        `GET ${billable} as ${p.email}: ${res.status} ` +
          (body.usage ? `(${body.usage.length} org rows)` : `(${body.errors?.join('; ')})`),
      );
    }
    const admin = keys[0] as CreatedKey;
    log(
      `\ntry it (the API runs on with --keep, or with \`npm run orgtally -- serve\`):\n  curl -s -H "DD-API-KEY: ${admin.api_key}" -H "DD-APPLICATION-KEY: ${admin.application_key}" \\\n` +
        `    "${base}${billable}"\n  OpenAPI: ${base}/api/openapi.json  ·  the Datadog clients: docs/api.md "Pointing the Datadog clients at orgtally"`,
    );
  } finally {
    await app.close();
  }
  const servePort = port === 0 ? await freeDemoPort() : port;
  if (keep) await serveInBackground(config, servePort);
  return { port: servePort };
}

async function freeDemoPort(): Promise<number> {
  for (let p = 8081; p < 8100; p++) if (await portFree(p)) return p;
  throw new Error('no free port in 8081-8099 for the API');
}

/** `orgtally serve` as its own process, detached, logging to .orgtally/api.log; its pid in .orgtally/api.pid. */
async function serveInBackground(config: Config, port: number): Promise<void> {
  const pidFile = path.join(config.homeDir, 'api.pid');
  const old = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : 0);
  if (isAlive(old)) {
    log(`the API is already running (pid ${old}); \`orgtally dev down\` stops it`);
    return;
  }
  const logFile = path.join(config.homeDir, 'api.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, 'bin', 'orgtally'), 'serve', '--port', String(port)],
    {
      detached: true,
      stdio: ['ignore', out, out],
      env: process.env,
    },
  );
  fs.closeSync(out);
  child.unref();
  fs.writeFileSync(pidFile, String(child.pid));
  const url = `http://${config.httpHost}:${port}`;
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${url}/api/openapi.json`).catch(() => undefined))?.ok) {
      log(
        `the API keeps running at ${url} (pid ${child.pid}, log ${logFile}); \`orgtally dev down\` stops it`,
      );
      return;
    }
    await sleep(200);
  }
  throw new Error(`the API did not start at ${url}; see ${logFile}`);
}
