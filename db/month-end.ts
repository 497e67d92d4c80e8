import type { Knex } from 'knex';
import { p99Rank } from '../domain/billing';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { computeOrgFigures, computeTagFigures, invariantViolations, MONTH_FILTER } from './month-figures';
import { checkMonth } from '../domain/month-end';
import { monthDays, monthPeriod, monthStart } from './month-period';

/**
 * Owner of month_end_versions, month_end_totals, month_end_orgs, month_end_tags. The billing rules are those of
 * domain/billing.ts (the reference the tests compare against), run here as set-based SQL over the month's
 * attributed hourly rows.
 */

export interface CloseInput {
  accountId: string;
  /** YYYY-MM, in the account's time zone. */
  month: string;
  /** The instant the close computes for (decides provisional vs final). */
  asOf: string;
}

export interface VersionInfo {
  accountId: string;
  month: string;
  version: number;
  status: 'provisional' | 'final';
  checksum: string;
  dataCompleteThrough: string;
  computedAt: string;
}

export type CloseResult =
  | { outcome: 'incomplete'; days: string[] }
  | (VersionInfo & { outcome: 'created' | 'unchanged' | 'finalized'; previousVersion: number | null });

/**
 * Computes the month's figures in one REPEATABLE READ snapshot and stores them as a new version when their
 * checksum differs from the latest version's; otherwise only status and watermark are brought up to date.
 * Returns `incomplete` (writing nothing) when a day of the month is not attributed or has pending late data.
 */
export async function closeMonth(db: Knex, input: CloseInput): Promise<CloseResult> {
  checkMonth(input.month);
  const asOf = new Date(input.asOf);
  if (Number.isNaN(asOf.getTime())) throw new OrgtallyError(ErrorType.InvalidInput, `as-of "${input.asOf}"`);
  return db.transaction(
    async (trx) => {
      // JIT compilation cost seconds per statement on month-sized plans and saved nothing (measured).
      await trx.raw('SET LOCAL jit = off');
      const period = await monthPeriod(trx, input.accountId, input.month, asOf);
      const days = await monthDays(trx, input.accountId, input.month);
      if (days.toAttribute.length) return { outcome: 'incomplete', days: days.toAttribute };

      const { rows: runs } = await trx.raw(
        `SELECT DISTINCT tag_keys FROM attribution_runs
          WHERE account_id = ? AND day >= CAST(? AS date) AND day < CAST(? AS date) + interval '1 month'`,
        [input.accountId, monthStart(input.month), monthStart(input.month)],
      );
      if (runs.length > 1) {
        throw new OrgtallyError(
          ErrorType.InvalidInput,
          `the days of ${input.month} were attributed with different tag keys (${runs
            .map((r: { tag_keys: string[] }) => `[${r.tag_keys.join(', ')}]`)
            .join(' and ')}): restate them with \`orgtally run attribution --restate-tags\` first`,
        );
      }
      const tagKeys: string[] = (runs[0] as { tag_keys: string[] } | undefined)?.tag_keys ?? [];

      const p = {
        account: input.accountId,
        first: monthStart(input.month),
        hours: period.hours,
        k: p99Rank(period.hours, period.p99DropPercent),
        until: period.end,
        monthHours: period.hours,
        allAttributed: await runsTileMonth(trx, input.accountId, input.month, period),
      };

      await computeOrgFigures(trx, p);
      await computeTagFigures(trx, p, tagKeys);

      const violations = await invariantViolations(trx);
      if (violations.length) {
        throw new OrgtallyError(
          ErrorType.ReconciliationMismatch,
          `month-end ${input.accountId} ${input.month} does not add up: ${violations.slice(0, 5).join('; ')}` +
            (violations.length > 5 ? `; and ${violations.length - 5} more` : ''),
        );
      }

      // The figures' checksum: a re-run over unchanged data computes the same one and writes no version.
      const { rows: sumRows } = await trx.raw(
        `SELECT md5(concat_ws('|', CAST(:keys AS text[])::text, :hours::text,
                  (SELECT string_agg(concat_ws(',', usage_type, total_usage, billable_usage, committed_usage,
                            allotment_usage, included_usage, on_demand_usage, committed_price, on_demand_price,
                            committed_cost, on_demand_cost), ';' ORDER BY usage_type COLLATE "C") FROM me_totals),
                  (SELECT string_agg(concat_ws(',', public_id, org_name, billable, usage_type, total_usage,
                            billable_usage, committed_usage, on_demand_usage, percentage_in_account, committed_cost,
                            on_demand_cost), ';' ORDER BY public_id COLLATE "C", usage_type COLLATE "C") FROM me_orgs),
                  (SELECT md5(string_agg(concat_ws(',', public_id, usage_type, cells::text, raw_usage, total_usage,
                            billable_usage, committed_usage, on_demand_usage, percentage_in_org,
                            percentage_in_account, committed_cost, on_demand_cost), ';'
                            ORDER BY public_id COLLATE "C", usage_type COLLATE "C", cells COLLATE "C")) FROM me_tags)
                )) AS checksum,
                (SELECT max(facts_watermark) FROM attribution_runs WHERE ${MONTH_FILTER}) AS watermark`,
        { ...p, keys: tagKeys },
      );
      const { checksum, watermark } = sumRows[0] as { checksum: string; watermark: string | null };
      const status = period.final ? 'final' : 'provisional';
      const key = { account_id: input.accountId, month: monthStart(input.month) };
      const latest = await trx('month_end_versions')
        .where(key)
        .orderBy('version', 'desc')
        .first('version', 'checksum', 'status');

      if (latest && latest.checksum === checksum) {
        const finalized = latest.status === 'provisional' && status === 'final';
        await trx('month_end_versions')
          .where({ ...key, version: latest.version })
          .update({
            ...(finalized ? { status } : {}),
            data_complete_through: trx.raw('greatest(data_complete_through, ?)', [period.completeThrough]),
            facts_watermark: watermark,
          });
        const info = await versionInfo(trx, input.accountId, input.month, latest.version);
        return { outcome: finalized ? 'finalized' : 'unchanged', previousVersion: null, ...info };
      }

      const version = (latest?.version ?? 0) + 1;
      const vkey = { ...key, version };
      await trx('month_end_versions').insert({
        ...vkey,
        status,
        issued_status: status,
        // the currency the version's prices were in: a later spec change does not relabel its amounts
        currency: trx('accounts').where({ id: key.account_id }).select('currency'),
        period_start: period.start,
        period_end: period.end,
        hours: period.hours,
        tag_keys: tagKeys,
        p99_drop_percent: period.p99DropPercent,
        data_complete_through: period.completeThrough,
        facts_watermark: watermark,
        as_of: asOf,
        checksum,
      });
      const v = { ...p, version };
      await trx.raw(
        `INSERT INTO month_end_totals (account_id, month, version, usage_type, unit, aggregation, on_demand_mode,
           total_usage, billable_usage, committed_usage, allotment_usage, included_usage, on_demand_usage,
           committed_price, on_demand_price, committed_cost, on_demand_cost, total_cost)
         SELECT :account, :first, :version, usage_type, unit, aggregation, on_demand_mode, total_usage,
                billable_usage, committed_usage, allotment_usage, included_usage, on_demand_usage, committed_price,
                on_demand_price, committed_cost, on_demand_cost, committed_cost + on_demand_cost
           FROM me_totals`,
        v,
      );
      await trx.raw(
        `INSERT INTO month_end_orgs (account_id, month, version, public_id, org_name, billable, usage_type,
           total_usage, billable_usage, committed_usage, on_demand_usage, percentage_in_account, committed_cost,
           on_demand_cost, total_cost)
         SELECT :account, :first, :version, public_id, org_name, billable, usage_type, total_usage,
                billable_usage, committed_usage, on_demand_usage, percentage_in_account, committed_cost,
                on_demand_cost, committed_cost + on_demand_cost
           FROM me_orgs`,
        v,
      );
      await trx.raw(
        `INSERT INTO month_end_tags (account_id, month, version, public_id, usage_type, cells, raw_usage,
           total_usage, billable_usage, committed_usage, on_demand_usage, percentage_in_org, percentage_in_account,
           committed_cost, on_demand_cost, total_cost)
         SELECT :account, :first, :version, public_id, usage_type, cells, raw_usage, total_usage, billable_usage,
                committed_usage, on_demand_usage, percentage_in_org, percentage_in_account, committed_cost,
                on_demand_cost, total_cost
           FROM me_tags`,
        v,
      );
      if (latest) {
        await trx('month_end_versions')
          .where(vkey)
          .update({
            changes: JSON.stringify(await versionChanges(trx, input.accountId, input.month, version)),
          });
      }
      const info = await versionInfo(trx, input.accountId, input.month, version);
      return { outcome: 'created', previousVersion: latest?.version ?? null, ...info };
    },
    { isolationLevel: 'repeatable read' },
  );
}

export interface Change {
  public_id?: string;
  usage_type: string;
  field: string;
  from: string;
  to: string;
}

const CHANGE_FIELDS = ['total_usage', 'billable_usage', 'on_demand_usage', 'total_cost'];

/** What changed from the previous version: every account-level figure, and the 20 largest org cost changes. */
export async function versionChanges(
  db: Knex,
  accountId: string,
  month: string,
  version: number,
): Promise<Change[]> {
  const b = { account: accountId, month: monthStart(month), version, prev: version - 1 };
  const totals = CHANGE_FIELDS.map(
    (f) => `SELECT coalesce(n.usage_type, o.usage_type) AS usage_type, '${f}' AS field,
                   coalesce(o.${f}, 0)::text AS "from", coalesce(n.${f}, 0)::text AS "to"
              FROM (SELECT * FROM month_end_totals WHERE account_id = :account AND month = :month AND version = :version) n
              FULL JOIN (SELECT * FROM month_end_totals WHERE account_id = :account AND month = :month AND version = :prev) o
                ON o.usage_type = n.usage_type
             WHERE coalesce(o.${f}, 0) <> coalesce(n.${f}, 0)`,
  ).join(' UNION ALL ');
  const { rows: t } = await db.raw(`SELECT * FROM (${totals}) x ORDER BY usage_type, field`, b);
  const { rows: o } = await db.raw(
    `SELECT coalesce(n.public_id, o.public_id) AS public_id, coalesce(n.usage_type, o.usage_type) AS usage_type,
            'total_cost' AS field, coalesce(o.total_cost, 0)::text AS "from", coalesce(n.total_cost, 0)::text AS "to"
       FROM (SELECT * FROM month_end_orgs WHERE account_id = :account AND month = :month AND version = :version) n
       FULL JOIN (SELECT * FROM month_end_orgs WHERE account_id = :account AND month = :month AND version = :prev) o
         ON o.public_id = n.public_id AND o.usage_type = n.usage_type
      WHERE coalesce(o.total_cost, 0) <> coalesce(n.total_cost, 0)
      ORDER BY abs(coalesce(n.total_cost, 0) - coalesce(o.total_cost, 0)) DESC, 1, 2
      LIMIT 20`,
    b,
  );
  return [...(t as Change[]), ...(o as Change[])];
}

async function versionInfo(
  db: Knex,
  accountId: string,
  month: string,
  version: number,
): Promise<VersionInfo> {
  const r = await db('month_end_versions')
    .where({ account_id: accountId, month: monthStart(month), version })
    .first('status', 'checksum', 'data_complete_through', 'computed_at');
  return {
    accountId,
    month,
    version,
    status: r.status,
    checksum: r.checksum,
    dataCompleteThrough: new Date(r.data_complete_through).toISOString(),
    computedAt: new Date(r.computed_at).toISOString(),
  };
}

/**
 * Whether the month's runs cover exactly its hours in the account's zone today, end to end: then every fact of
 * the month belongs to an attributed day and the close reads them by range. A zone changed since some days were
 * attributed leaves gaps or overlaps, and the close reads day by day through the runs instead.
 */
async function runsTileMonth(
  trx: Knex.Transaction,
  accountId: string,
  month: string,
  period: { start: Date; end: Date },
): Promise<boolean> {
  const { rows } = await trx.raw(
    `SELECT min(period_start) = :start AND max(period_end) = :end
            AND sum(extract(epoch FROM period_end - period_start)) = extract(epoch FROM CAST(:end AS timestamptz) - CAST(:start AS timestamptz))
            AS tiles
       FROM attribution_runs
      WHERE account_id = :account AND day >= CAST(:first AS date) AND day < CAST(:first AS date) + interval '1 month'`,
    { start: period.start, end: period.end, account: accountId, first: monthStart(month) },
  );
  return rows[0]?.tiles === true;
}
