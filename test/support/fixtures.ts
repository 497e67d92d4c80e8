import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { applyAccountSpec } from '../../db/accounts';
import { PROJECT_ROOT } from '../../infra/config';
import { validateSpec, type AccountSpec } from '../../domain/spec';

export const EXAMPLE_SPEC_FILE = path.join(PROJECT_ROOT, 'examples', 'acme.json');

export function exampleSpecJson(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(EXAMPLE_SPEC_FILE, 'utf8'));
}

export function parseSpec(json: unknown): AccountSpec {
  const v = validateSpec(json);
  if (!v.ok) throw new Error(`invalid test spec: ${JSON.stringify(v.issues)}`);
  return v.spec;
}

/** "As of" used by tests: fixed, so retention and future-hour checks do not depend on the clock. */
export const TEST_AS_OF = Date.parse('2026-11-28T12:00:00Z');

export async function applyExample(db: Knex): Promise<void> {
  await applyAccountSpec(db, parseSpec(exampleSpecJson()), { asOfMs: TEST_AS_OF });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `orgtally-${prefix}-`));
}

export function writeFile(dir: string, name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

export const rec = (timestamp: string, org: string, product: string, value: unknown, tags: unknown = []) =>
  JSON.stringify({ timestamp, org, product, value, tags });

/** Σ facts per (org public id, product, hour) as exact decimal strings. */
export async function factSums(db: Knex): Promise<Record<string, string>> {
  const { rows } = await db.raw(`
    SELECT o.public_id || '/' || p.code || '/' || to_char(f.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS k,
           sum(f.value)::text AS v
      FROM usage_facts f JOIN orgs o ON o.id = f.org_id JOIN products p ON p.id = f.product_id
     GROUP BY 1 ORDER BY 1`);
  return Object.fromEntries((rows as { k: string; v: string }[]).map((r) => [r.k, r.v]));
}

export async function count(db: Knex, table: string): Promise<number> {
  const r = await db(table).count({ n: '*' });
  return Number(r[0]?.n ?? 0);
}
