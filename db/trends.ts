import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { isMonth } from '../domain/month-end';
import { TREND_MONTHS, trendMonths, type View } from '../domain/trends';

/** Owner of trend_runs, trends, trend_movers. Reads the month-end versions (db/month-end.ts). */

export interface TrendsResult {
  accountId: string;
  month: string;
  months: string[];
  /** Months of the window that have no month-end version yet: their values are absent. */
  missingMonths: string[];
  changed: boolean;
  rows: number;
  movers: number;
}

const RULES = 'trends-v1';
const FLOOR_PERCENT = '1';
const TOP_MOVERS = 3;

/** changeBetween() of domain/trends.ts in SQL: kind, abs, pct from a previous and a current value. */
function changeSql(before: string, now: string): string {
  return `SELECT CASE WHEN ${now} IS NULL THEN 'absent'
                      WHEN coalesce(${before}, 0) = 0 THEN CASE WHEN ${now} = 0 THEN 'flat' ELSE 'new' END
                      WHEN ${now} = ${before} THEN 'flat' ELSE 'change' END AS kind,
                 CASE WHEN ${now} IS NULL THEN NULL ELSE ${now} - coalesce(${before}, 0) END AS abs,
                 CASE WHEN ${now} IS NULL THEN NULL
                      WHEN coalesce(${before}, 0) = 0 THEN CASE WHEN ${now} = 0 THEN 0 END
                      ELSE round((${now} - ${before}) * 100 / ${before}, 1) END AS pct`;
} // bump when the trend math changes, so stored runs are recomputed

/**
 * Computes the six-month trends ending at `month` from the latest month-end version of each month, for every org
 * × product and the account, in the billable and the all view, with the top movers among child orgs. Replaces the
 * stored rows in one transaction, unless the inputs (the versions read) are unchanged: then nothing is written.
 */
export async function computeTrends(
  db: Knex,
  input: { accountId: string; month: string },
): Promise<TrendsResult> {
  if (!isMonth(input.month))
    throw new OrgtallyError(ErrorType.InvalidInput, `month "${input.month}" is not YYYY-MM`);
  return db.transaction(
    async (trx) => {
      await trx.raw('SET LOCAL jit = off'); // compiling these plans cost seconds and saved nothing (measured)
      const account = await trx('accounts').where({ id: input.accountId }).first('id');
      if (!account) throw new OrgtallyError(ErrorType.UnknownAccount, `no account "${input.accountId}"`);
      const months = trendMonths(input.month);
      const { rows: versions } = await trx.raw(
        `SELECT to_char(m, 'YYYY-MM') AS month, v.version, v.checksum
           FROM unnest(CAST(? AS date[])) AS m
           LEFT JOIN LATERAL (SELECT version, checksum FROM month_end_versions
                               WHERE account_id = ? AND month = m ORDER BY version DESC LIMIT 1) v ON true
          ORDER BY m`,
        [months.map((m) => `${m}-01`), input.accountId],
      );
      const vs = versions as { month: string; version: number | null; checksum: string | null }[];
      const checksum = createHash('md5')
        .update(JSON.stringify([RULES, vs]))
        .digest('hex');
      const missingMonths = vs.filter((v) => v.version === null).map((v) => v.month);
      const key = { account_id: input.accountId, month: `${input.month}-01` };
      const prev = await trx('trend_runs').where(key).first('inputs_checksum');
      const counts = async () => ({
        rows: Number((await trx('trends').where(key).count({ n: '*' }))[0]?.n ?? 0),
        movers: Number((await trx('trend_movers').where(key).count({ n: '*' }))[0]?.n ?? 0),
      });
      if (prev?.inputs_checksum === checksum) {
        return {
          accountId: input.accountId,
          month: input.month,
          months,
          missingMonths,
          changed: false,
          ...(await counts()),
        };
      }

      for (const t of ['trend_movers', 'trends', 'trend_runs']) await trx(t).where(key).delete();
      await trx('trend_runs').insert({
        ...key,
        months: months.map((m) => `${m}-01`),
        versions: vs.map((v) => v.version),
        inputs_checksum: checksum,
      });
      const b = {
        account: input.accountId,
        month: `${input.month}-01`,
        months: vs.map((v) => `${v.month}-01`),
        versions: vs.map((v) => v.version),
        floor: FLOOR_PERCENT,
      };
      // The rules of domain/trends.ts (the reference the tests compare with), set-based: series per org (and the
      // account) × product × view over the six months, absent before the first month with a value and where a
      // month is not closed, 0 after; month-over-month and six-month change.
      // Temporary tables with fresh statistics: over CTEs the planner guessed one row and nested-looped (measured).
      await trx.raw(
        `CREATE TEMP TABLE tr_months ON COMMIT DROP AS
         SELECT m.month, m.version, m.idx::int AS idx
           FROM unnest(CAST(:months AS date[]), CAST(:versions AS int[])) WITH ORDINALITY AS m(month, version, idx)`,
        b,
      );
      await trx.raw(
        `CREATE TEMP TABLE tr_raw ON COMMIT DROP AS
         SELECT 'org'::text AS scope, o.public_id, o.org_name, o.usage_type, v.idx, o.total_usage AS all_v,
                o.billable_usage AS billable_v
           FROM month_end_orgs o JOIN tr_months v ON v.month = o.month AND v.version = o.version
          WHERE o.account_id = :account
         UNION ALL
         SELECT 'account', '', a.name, t.usage_type, v.idx, t.total_usage, t.billable_usage
           FROM month_end_totals t JOIN tr_months v ON v.month = t.month AND v.version = t.version
           JOIN accounts a ON a.id = t.account_id
          WHERE t.account_id = :account`,
        b,
      );
      // One group per org and product (no sort, no join per month): the six values are picked by month index.
      const cell = (i: number) =>
        `CASE WHEN ${i} < k.first_idx OR NOT (CAST(:closed AS boolean[]))[${i}] THEN NULL
              ELSE trim_scale(coalesce(CASE w.view WHEN 'all' THEN k.a${i} ELSE k.b${i} END, 0)) END`;
      const picks = Array.from(
        { length: TREND_MONTHS },
        (_, j) =>
          `max(r.all_v) FILTER (WHERE r.idx = ${j + 1}) AS a${j + 1}, max(r.billable_v) FILTER (WHERE r.idx = ${j + 1}) AS b${j + 1}`,
      ).join(', ');
      await trx.raw(
        `CREATE TEMP TABLE tr_rows ON COMMIT DROP AS
         WITH k AS (
           SELECT r.scope, r.public_id, r.usage_type, min(r.idx) AS first_idx,
                  (max(ARRAY[lpad(r.idx::text, 2, '0'), r.org_name]))[2] AS org_name, ${picks}
             FROM tr_raw r GROUP BY r.scope, r.public_id, r.usage_type
         ), e AS MATERIALIZED (
           SELECT k.scope, k.public_id, k.usage_type, w.view, k.org_name, k.first_idx,
                  ARRAY[${Array.from({ length: TREND_MONTHS }, (_, j) => cell(j + 1)).join(', ')}] AS vals
             FROM k CROSS JOIN (VALUES ('billable'), ('all')) AS w(view)
         ), f AS (
           -- the first month with a value is the org's first month (it has a row there, so it is closed)
           SELECT e.*, e.vals[${TREND_MONTHS}] AS cur, e.vals[${TREND_MONTHS - 1}] AS prev, e.vals[e.first_idx] AS first_v
             FROM e
         )
         SELECT f.scope, f.public_id, f.org_name, f.usage_type, f.view, f.vals, f.prev, f.cur,
                m.kind AS mom_kind, m.abs AS mom_abs, m.pct AS mom_pct, x.kind AS six_kind, x.abs AS six_abs,
                x.pct AS six_pct
           FROM f
           CROSS JOIN LATERAL (${changeSql('f.prev', 'f.cur')}) m
           CROSS JOIN LATERAL (${changeSql(`CASE WHEN f.first_idx = ${TREND_MONTHS} THEN NULL ELSE f.first_v END`, 'f.cur')}) x`,
        { ...b, closed: vs.map((v) => v.version !== null) },
      );
      const inserted = await trx.raw(
        `INSERT INTO trends (account_id, month, scope, public_id, org_name, usage_type, view, "values", mom_kind,
                             mom_abs, mom_pct, six_kind, six_abs, six_pct)
         SELECT :account, CAST(:month AS date), scope, public_id, org_name, usage_type, view, vals, mom_kind, mom_abs,
                mom_pct, six_kind, six_abs, six_pct
           FROM tr_rows`,
        b,
      );
      // Top movers among client orgs (the parent's own org left out) whose volume max(previous, current) reaches
      // FLOOR_PERCENT % of the account's, three per product, view and kind.
      const movers = await trx.raw(
        `WITH c AS (
           SELECT t.view, t.usage_type, t.public_id, t.scope, t.prev AS previous, t.cur AS current, t.mom_kind,
                  t.mom_pct, coalesce(t.cur, 0) - coalesce(t.prev, 0) AS d,
                  greatest(coalesce(t.prev, 0), coalesce(t.cur, 0)) AS volume,
                  round(max(greatest(coalesce(t.prev, 0), coalesce(t.cur, 0))) FILTER (WHERE t.scope = 'account')
                          OVER (PARTITION BY t.usage_type, t.view) * CAST(:floor AS numeric) / 100, 6) AS floor
             FROM tr_rows t
         ), ranked AS (
           SELECT c.*, k.kind,
                  row_number() OVER (PARTITION BY c.view, c.usage_type, k.kind ORDER BY
                    CASE k.kind WHEN 'increase' THEN -c.d WHEN 'decrease' THEN c.d
                                WHEN 'relative_increase' THEN -c.mom_pct ELSE c.mom_pct END,
                    c.public_id COLLATE "C") AS rank
             FROM c CROSS JOIN (VALUES ('increase'), ('decrease'), ('relative_increase'), ('relative_decrease')) AS k(kind)
            WHERE c.scope = 'org' AND c.public_id <> :account AND c.volume > 0 AND c.volume >= c.floor
              AND CASE k.kind WHEN 'increase' THEN c.d > 0
                              WHEN 'decrease' THEN c.d < 0
                              WHEN 'relative_increase' THEN c.d > 0 AND c.mom_kind = 'change' AND c.mom_pct IS NOT NULL
                              ELSE c.d < 0 AND c.mom_kind = 'change' AND c.mom_pct IS NOT NULL END
         )
         INSERT INTO trend_movers (account_id, month, view, usage_type, kind, rank, public_id, previous, current, abs, pct)
         SELECT :account, CAST(:month AS date), view, usage_type, kind, rank, public_id, previous, current, d, mom_pct
           FROM ranked WHERE rank <= ${TOP_MOVERS}`,
        b,
      );
      const rowCount = inserted.rowCount ?? 0;
      const moverCount = movers.rowCount ?? 0;
      return {
        accountId: input.accountId,
        month: input.month,
        months,
        missingMonths,
        changed: true,
        rows: rowCount,
        movers: moverCount,
      };
    },
    { isolationLevel: 'repeatable read' },
  );
}

export interface StoredTrend {
  scope: 'account' | 'org';
  public_id: string;
  org_name: string;
  usage_type: string;
  view: View;
  values: (string | null)[];
  mom_kind: string;
  mom_abs: string | null;
  mom_pct: string | null;
  six_kind: string;
  six_abs: string | null;
  six_pct: string | null;
}

export async function storedTrends(
  db: Knex,
  /** `orgs`: only these orgs' rows, and no account rows (a reader below the root org); `accountOnly`: no org rows. */
  q: { accountId: string; month: string; view?: View; org?: string; orgs?: string[]; accountOnly?: boolean },
): Promise<
  | { months: string[]; missingMonths: string[]; rows: StoredTrend[]; movers: Record<string, unknown>[] }
  | undefined
> {
  const key = { account_id: q.accountId, month: `${q.month}-01` };
  const run = await db('trend_runs')
    .where(key)
    .first(db.raw(`ARRAY(SELECT to_char(m, 'YYYY-MM') FROM unnest(months) m) AS months`), 'versions');
  if (!run) return undefined;
  const rows = await db('trends')
    .where(key)
    .modify((x) => {
      if (q.view) x.where({ view: q.view });
      if (q.org) x.where({ public_id: q.org });
      if (q.orgs) x.where({ scope: 'org' }).whereIn('public_id', q.orgs);
      if (q.accountOnly) x.where({ scope: 'account' });
    })
    .orderByRaw(`scope, public_id COLLATE "C", usage_type COLLATE "C", view`)
    .select(
      'scope',
      'public_id',
      'org_name',
      'usage_type',
      'view',
      db.raw(
        `ARRAY(SELECT trim_scale(v)::text FROM unnest("values") WITH ORDINALITY u(v, i) ORDER BY i) AS "values"`,
      ),
      'mom_kind',
      db.raw('trim_scale(mom_abs)::text AS mom_abs, trim_scale(mom_pct)::text AS mom_pct'),
      'six_kind',
      db.raw('trim_scale(six_abs)::text AS six_abs, trim_scale(six_pct)::text AS six_pct'),
    );
  const movers = await db('trend_movers')
    .where(key)
    .modify((x) => {
      if (q.view) x.where({ view: q.view });
    })
    .orderByRaw('view, usage_type COLLATE "C", kind, rank')
    .select(
      'view',
      'usage_type',
      'kind',
      'rank',
      'public_id',
      db.raw(`trim_scale(previous)::text AS previous, trim_scale(current)::text AS current,
              trim_scale(abs)::text AS abs, trim_scale(pct)::text AS pct`),
    );
  const months = run.months as string[];
  const versions = run.versions as (number | null)[];
  return { months, missingMonths: months.filter((_, i) => versions[i] === null), rows, movers };
}
