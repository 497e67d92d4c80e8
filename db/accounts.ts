import type { Knex } from 'knex';
import { dayInZone } from '../domain/calendar';
import { canonicalDecimal } from '../domain/decimal';
import { ErrorType, OrgtallyError } from '../domain/errors';
import type { AccountSpec } from '../domain/spec';
import { parseDurationHours } from '../domain/time';
import { applyAccess } from './access';
import { audit } from './audit';
import { rebuildDaily } from './usage-rollup';

/** Owner of accounts, orgs, products, commitments, attribution_tag_keys, finance_recipients, alert_rules. */

export interface ApplyResult {
  accountId: string;
  changes: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const dec = (v: string | null | undefined) => (v === null || v === undefined ? null : canonicalDecimal(v));

/**
 * Makes the database match the spec, in one transaction: applying the same spec twice changes nothing; an edited
 * spec changes exactly the edits, and each change is listed. Orgs or products that already have usage facts are
 * never deleted by omission: that is refused, and nothing is written.
 */
export async function applyAccountSpec(
  db: Knex,
  spec: AccountSpec,
  opts: { asOfMs: number; dryRun?: boolean; actor?: string },
): Promise<ApplyResult> {
  try {
    return await db.transaction(async (trx) => {
      const actor = opts.actor ?? 'system';
      const result = await applyInTransaction(trx, spec, opts.asOfMs, actor);
      if (result.changes.length)
        await audit(trx, {
          accountId: result.accountId,
          actor,
          action: 'spec.apply',
          target: `account:${result.accountId}`,
          after: { changes: result.changes },
        });
      // A dry run makes every check and every write, then rolls them back: it lists what applying would change.
      if (opts.dryRun) throw new DryRun(result);
      return result;
    });
  } catch (err) {
    if (err instanceof DryRun) return err.result;
    throw err;
  }
}

class DryRun extends Error {
  constructor(readonly result: ApplyResult) {
    super('dry run: rolled back');
  }
}

// Zone abbreviations mean different zones to ICU and to Postgres (IST: India to ICU, Israel to Postgres); these
// two mean the same everywhere.
const SAME_EVERYWHERE = new Set(['UTC', 'GMT']);

/**
 * The spec's zone is used by ICU (calendars in the code) and by Postgres (`AT TIME ZONE` in every period query):
 * both must know it by that name and mean the same zone. The spec check asked ICU; this asks Postgres.
 */
async function checkTimezone(trx: Knex.Transaction, tz: string): Promise<void> {
  const { rows } = await trx.raw(
    `SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = :tz) AS known,
            EXISTS (SELECT 1 FROM pg_timezone_abbrevs WHERE abbrev = upper(:tz)) AS abbrev,
            (SELECT min(name) FROM pg_timezone_names WHERE lower(name) = lower(:tz)) AS spelled`,
    { tz },
  );
  const r = rows[0] as { known: boolean; abbrev: boolean; spelled: string | null };
  if (r.abbrev && !SAME_EVERYWHERE.has(tz)) {
    throw new OrgtallyError(
      ErrorType.InvalidInput,
      `$.account.timezone: "${tz}" is an abbreviation, which Postgres and ICU read as different zones; ` +
        `use a region name such as "America/New_York" or "Asia/Kolkata"`,
    );
  }
  if (!r.known) {
    const hint = r.spelled ? ` (did you mean "${r.spelled}"?)` : '';
    throw new OrgtallyError(
      ErrorType.InvalidInput,
      `$.account.timezone: "${tz}" is not a time zone this Postgres knows${hint}; see pg_timezone_names`,
    );
  }
}

async function applyInTransaction(
  trx: Knex.Transaction,
  spec: AccountSpec,
  asOfMs: number,
  actor: string,
): Promise<ApplyResult> {
  const changes: string[] = [];
  const a = spec.account;
  await checkTimezone(trx, a.timezone);
  const lateness = parseDurationHours(a.lateness) as number;
  const cur = await trx('accounts').where({ id: a.id }).forUpdate().first();
  if (!cur) {
    await trx('accounts').insert({
      id: a.id,
      name: a.name,
      timezone: a.timezone,
      currency: a.currency,
      lateness_hours: lateness,
      p99_drop_percent: a.p99_drop_percent,
    });
    changes.push(`account ${a.id}: created`);
  } else if (
    cur.name !== a.name ||
    cur.timezone !== a.timezone ||
    cur.currency !== a.currency ||
    cur.lateness_hours !== lateness ||
    dec(cur.p99_drop_percent) !== dec(a.p99_drop_percent)
  ) {
    await trx('accounts').where({ id: a.id }).update({
      name: a.name,
      timezone: a.timezone,
      currency: a.currency,
      lateness_hours: lateness,
      p99_drop_percent: a.p99_drop_percent,
      updated_at: trx.fn.now(),
    });
    if (cur.timezone !== a.timezone || dec(cur.p99_drop_percent) !== dec(a.p99_drop_percent))
      await rebuildDaily(trx, a.id);
    changes.push(`account ${a.id}: updated`);
  }

  await applyOrgs(trx, spec, changes);
  await applyProducts(trx, spec, changes);
  await applyCommitments(trx, spec, changes);
  await applyTagKeys(trx, spec, asOfMs, changes);
  await applyRecipients(trx, spec, changes);
  await applyAlerts(trx, spec, changes);
  await applyAccess(trx, spec, actor, changes);
  return { accountId: a.id, changes };
}

async function applyOrgs(trx: Knex.Transaction, spec: AccountSpec, changes: string[]): Promise<void> {
  const accountId = spec.account.id;
  const taken = await trx('orgs')
    .whereIn(
      'public_id',
      spec.orgs.map((o) => o.id),
    )
    .whereNot({ account_id: accountId })
    .select('public_id', 'account_id');
  if (taken.length) {
    throw new OrgtallyError(
      ErrorType.InvalidInput,
      taken.map((t) => `org "${t.public_id}" already belongs to account "${t.account_id}"`).join('; '),
    );
  }
  const existing = new Map<
    string,
    { id: number; name: string; parent_id: number | null; billable: boolean; billing_contact: string | null }
  >((await trx('orgs').where({ account_id: accountId })).map((r) => [r.public_id, r]));
  const ids = new Map<string, number>([...existing].map(([k, v]) => [k, v.id]));
  for (const o of spec.orgs) {
    const row = existing.get(o.id);
    if (!row) {
      const [ins] = await trx('orgs').insert(
        {
          account_id: accountId,
          public_id: o.id,
          name: o.name,
          billable: o.billable,
          billing_contact: o.billing_contact ?? null,
        },
        ['id'],
      );
      ids.set(o.id, ins.id);
      changes.push(`org ${o.id}: created`);
    }
  }
  for (const o of spec.orgs) {
    const row = existing.get(o.id);
    const parentId = o.parent === undefined ? null : (ids.get(o.parent) as number);
    const contact = o.billing_contact ?? null;
    const changed =
      row &&
      (row.name !== o.name ||
        row.billable !== o.billable ||
        row.parent_id !== parentId ||
        row.billing_contact !== contact);
    if (changed) changes.push(`org ${o.id}: updated`);
    if (!row || changed) {
      await trx('orgs')
        .where({ id: ids.get(o.id) })
        .update({
          name: o.name,
          billable: o.billable,
          billing_contact: contact,
          parent_id: parentId,
          updated_at: trx.fn.now(),
        });
    }
  }
  const removed = [...existing.keys()].filter((k) => !spec.orgs.some((o) => o.id === k));
  if (removed.length) {
    const used = await trx('usage_facts')
      .whereIn(
        'org_id',
        removed.map((k) => existing.get(k)?.id as number),
      )
      .distinct('org_id');
    if (used.length) {
      const names = removed.filter((k) => used.some((u) => u.org_id === existing.get(k)?.id));
      throw new OrgtallyError(
        ErrorType.InvalidInput,
        `orgs ${names.join(', ')} have usage and cannot be removed from the spec (keep them, or mark them billable: false)`,
      );
    }
    await trx('orgs')
      .whereIn(
        'id',
        removed.map((k) => existing.get(k)?.id as number),
      )
      .update({ parent_id: null });
    await trx('orgs')
      .whereIn(
        'id',
        removed.map((k) => existing.get(k)?.id as number),
      )
      .delete();
    removed.forEach((k) => changes.push(`org ${k}: removed`));
  }
}

async function applyProducts(trx: Knex.Transaction, spec: AccountSpec, changes: string[]): Promise<void> {
  const accountId = spec.account.id;
  const existing = new Map<string, Record<string, unknown>>(
    (await trx('products').where({ account_id: accountId })).map((r) => [r.code, r]),
  );
  for (const p of spec.products) {
    const row = {
      unit: p.unit,
      aggregation: p.aggregation,
      allotment_per: p.allotment?.per ?? null,
      allotment_quantity: p.allotment?.quantity ?? null,
      on_demand_mode: p.on_demand,
    };
    const cur = existing.get(p.code);
    if (!cur) {
      await trx('products').insert({ account_id: accountId, code: p.code, ...row });
      changes.push(`product ${p.code}: created`);
    } else if (
      cur.unit !== row.unit ||
      cur.aggregation !== row.aggregation ||
      cur.allotment_per !== row.allotment_per ||
      cur.on_demand_mode !== row.on_demand_mode ||
      dec(cur.allotment_quantity as string | null) !== dec(row.allotment_quantity)
    ) {
      await trx('products')
        .where({ id: cur.id })
        .update({ ...row, updated_at: trx.fn.now() });
      changes.push(`product ${p.code}: updated`);
    }
  }
  const removed = [...existing.keys()].filter((k) => !spec.products.some((p) => p.code === k));
  if (removed.length) {
    const ids = removed.map((k) => existing.get(k)?.id as number);
    const used = await trx('usage_facts').whereIn('product_id', ids).distinct('product_id');
    if (used.length) {
      throw new OrgtallyError(
        ErrorType.InvalidInput,
        `products ${removed.filter((k) => used.some((u) => u.product_id === existing.get(k)?.id)).join(', ')} have usage and cannot be removed from the spec`,
      );
    }
    await trx('products').whereIn('id', ids).delete();
    removed.forEach((k) => changes.push(`product ${k}: removed`));
  }
}

async function applyCommitments(trx: Knex.Transaction, spec: AccountSpec, changes: string[]): Promise<void> {
  const accountId = spec.account.id;
  const existing = new Map<string, Record<string, string>>(
    (await trx('commitments').where({ account_id: accountId })).map((r) => [r.product_code, r]),
  );
  for (const c of spec.commitments) {
    const row = {
      quantity: c.quantity,
      committed_price: c.committed_price,
      on_demand_price: c.on_demand_price,
    };
    const cur = existing.get(c.product);
    if (!cur) {
      await trx('commitments').insert({ account_id: accountId, product_code: c.product, ...row });
      changes.push(`commitment ${c.product}: created`);
    } else if (
      (['quantity', 'committed_price', 'on_demand_price'] as const).some((k) => dec(cur[k]) !== dec(row[k]))
    ) {
      await trx('commitments').where({ account_id: accountId, product_code: c.product }).update(row);
      changes.push(`commitment ${c.product}: updated`);
    }
  }
  for (const k of existing.keys()) {
    if (!spec.commitments.some((c) => c.product === k)) {
      await trx('commitments').where({ account_id: accountId, product_code: k }).delete();
      changes.push(`commitment ${k}: removed`);
    }
  }
}

/**
 * A changed key list takes effect from `effective_from` (default: today in the account's zone); history is kept.
 * The first list ever applied covers all history unless it names a date.
 */
async function applyTagKeys(
  trx: Knex.Transaction,
  spec: AccountSpec,
  asOfMs: number,
  changes: string[],
): Promise<void> {
  const accountId = spec.account.id;
  const keys = spec.attribution.tag_keys;
  const any = await trx('attribution_tag_keys').where({ account_id: accountId }).first();
  const from =
    spec.attribution.effective_from ?? (any ? dayInZone(asOfMs, spec.account.timezone) : '1970-01-01');
  const latest = await trx('attribution_tag_keys')
    .where({ account_id: accountId })
    .where('effective_from', '<=', from)
    .orderBy('effective_from', 'desc')
    .first();
  if (latest && same(latest.tag_keys, keys)) return;
  if (!latest && keys.length === 0) return;
  await trx('attribution_tag_keys')
    .insert({ account_id: accountId, effective_from: from, tag_keys: keys })
    .onConflict(['account_id', 'effective_from'])
    .merge();
  changes.push(`attribution tag keys: [${keys.join(', ')}] from ${from}`);
}

async function applyRecipients(trx: Knex.Transaction, spec: AccountSpec, changes: string[]): Promise<void> {
  const accountId = spec.account.id;
  const want = new Set(spec.finance.recipients.map((e) => e.toLowerCase()));
  const have = new Set<string>(
    (await trx('finance_recipients').where({ account_id: accountId })).map((r) => r.email),
  );
  for (const e of want) {
    if (!have.has(e)) {
      await trx('finance_recipients').insert({ account_id: accountId, email: e });
      changes.push(`finance recipient ${e}: added`);
    }
  }
  for (const e of have) {
    if (!want.has(e)) {
      await trx('finance_recipients').where({ account_id: accountId, email: e }).delete();
      changes.push(`finance recipient ${e}: removed`);
    }
  }
}

async function applyAlerts(trx: Knex.Transaction, spec: AccountSpec, changes: string[]): Promise<void> {
  const accountId = spec.account.id;
  const existing = new Map<string, unknown>(
    (await trx('alert_rules').where({ account_id: accountId })).map((r) => [r.rule_id, r.definition]),
  );
  for (const rule of spec.alerts) {
    const cur = existing.get(rule.id);
    if (cur === undefined) {
      await trx('alert_rules').insert({
        account_id: accountId,
        rule_id: rule.id,
        kind: rule.kind,
        definition: rule,
      });
      changes.push(`alert rule ${rule.id}: created`);
    } else if (!same(sortKeys(cur), sortKeys(rule))) {
      await trx('alert_rules')
        .where({ account_id: accountId, rule_id: rule.id })
        .update({ kind: rule.kind, definition: rule });
      changes.push(`alert rule ${rule.id}: updated`);
    }
  }
  for (const k of existing.keys()) {
    if (!spec.alerts.some((r) => r.id === k)) {
      await trx('alert_rules').where({ account_id: accountId, rule_id: k }).delete();
      changes.push(`alert rule ${k}: removed`);
    }
  }
}

/** jsonb does not keep key order: compare rule definitions with sorted keys. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}

export interface AccountClock {
  timezone: string;
  latenessHours: number;
  /** The calendar day before `at`'s day, and the month before `at`'s month, in the account's zone. */
  previousDay: string;
  previousMonth: string;
  /** Days before `at`'s day marked for (re-)attribution by late or replaced data. */
  pendingDays: string[];
}

/** The account's calendar at an instant: what a scheduled run at `at` works on. */
export async function accountClock(db: Knex, accountId: string, at: string): Promise<AccountClock> {
  const account = await db('accounts').where({ id: accountId }).first('timezone', 'lateness_hours');
  if (!account) throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${accountId}"`);
  const { rows } = await db.raw(
    `SELECT to_char((CAST(:at AS timestamptz) AT TIME ZONE :tz)::date - 1, 'YYYY-MM-DD') AS previous_day,
            to_char(date_trunc('month', CAST(:at AS timestamptz) AT TIME ZONE :tz) - interval '1 month', 'YYYY-MM')
              AS previous_month,
            coalesce((SELECT array_agg(to_char(p.day, 'YYYY-MM-DD') ORDER BY p.day) FROM attribution_pending p
                       WHERE p.account_id = :account
                         AND p.day < (CAST(:at AS timestamptz) AT TIME ZONE :tz)::date), '{}') AS pending_days`,
    { at, tz: account.timezone, account: accountId },
  );
  const r = rows[0] as { previous_day: string; previous_month: string; pending_days: string[] };
  return {
    timezone: account.timezone,
    latenessHours: account.lateness_hours,
    previousDay: r.previous_day,
    previousMonth: r.previous_month,
    pendingDays: r.pending_days,
  };
}

/** An account's calendar settings, for every account (what the schedules are made of). */
export interface AccountCalendar {
  id: string;
  timezone: string;
  lateness_hours: number;
}

export async function accountCalendars(db: Knex): Promise<AccountCalendar[]> {
  const rows = await db('accounts').select('id', 'timezone', 'lateness_hours').orderBy('id');
  return rows.map((r) => ({ id: r.id, timezone: r.timezone, lateness_hours: Number(r.lateness_hours) }));
}

/** An account's orgs with their parents, by public id (the tree scopes are cut from). */
export async function orgTree(
  db: Knex,
  accountId: string,
): Promise<{ public_id: string; name: string; parent: string | null; billable: boolean }[]> {
  return db('orgs as o')
    .leftJoin('orgs as p', 'p.id', 'o.parent_id')
    .where('o.account_id', accountId)
    .orderByRaw('o.public_id COLLATE "C"')
    .select('o.public_id', 'o.name', 'p.public_id as parent', 'o.billable');
}

export async function accountIds(db: Knex): Promise<string[]> {
  return (await db('accounts').orderBy('id').select('id')).map((r: { id: string }) => r.id);
}
