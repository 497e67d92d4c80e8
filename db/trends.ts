import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { isMonth } from '../domain/month-end';
import { topMovers, trendMonths, trendRow, type Mover, type TrendRow, type View } from '../domain/trends';

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

const RULES = 'trends-v1'; // bump when the trend math changes, so stored runs are recomputed

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

      const { rows: values } = await trx.raw(
        `WITH v AS (
           SELECT m.month, m.version FROM unnest(CAST(:months AS date[]), CAST(:versions AS int[])) AS m(month, version)
            WHERE m.version IS NOT NULL)
         SELECT to_char(o.month, 'YYYY-MM') AS month, 'org' AS scope, o.public_id, o.org_name, o.usage_type,
                trim_scale(o.total_usage)::text AS all_value, trim_scale(o.billable_usage)::text AS billable_value
           FROM month_end_orgs o JOIN v ON v.month = o.month AND v.version = o.version
          WHERE o.account_id = :account
         UNION ALL
         SELECT to_char(t.month, 'YYYY-MM'), 'account', '', a.name, t.usage_type,
                trim_scale(t.total_usage)::text, trim_scale(t.billable_usage)::text
           FROM month_end_totals t JOIN v ON v.month = t.month AND v.version = t.version
           JOIN accounts a ON a.id = t.account_id
          WHERE t.account_id = :account`,
        {
          account: input.accountId,
          months: vs.map((v) => `${v.month}-01`),
          versions: vs.map((v) => v.version),
        },
      );
      type V = {
        month: string;
        scope: 'org' | 'account';
        public_id: string;
        org_name: string;
        usage_type: string;
        all_value: string;
        billable_value: string;
      };
      const series = new Map<
        string,
        {
          scope: string;
          public_id: string;
          org_name: string;
          usage_type: string;
          all: (string | null)[];
          billable: (string | null)[];
        }
      >();
      for (const r of values as V[]) {
        const k = `${r.scope}|${r.public_id}|${r.usage_type}`;
        const s = series.get(k) ?? {
          scope: r.scope,
          public_id: r.public_id,
          org_name: r.org_name,
          usage_type: r.usage_type,
          all: months.map(() => null),
          billable: months.map(() => null),
        };
        const i = months.indexOf(r.month);
        s.all[i] = r.all_value;
        s.billable[i] = r.billable_value;
        if (i === months.length - 1 || s.org_name === '') s.org_name = r.org_name; // the newest name
        series.set(k, s);
      }
      const rows: (TrendRow & { scope: string; org_name: string })[] = [];
      for (const s of series.values()) {
        for (const view of ['billable', 'all'] as View[]) {
          const r = trendRow(
            { public_id: s.scope === 'account' ? null : s.public_id, usage_type: s.usage_type, view },
            s[view],
          );
          rows.push({ ...r, scope: s.scope, org_name: s.org_name });
        }
      }
      const movers: Mover[] = (['billable', 'all'] as View[]).flatMap((view) =>
        topMovers(rows, { view, exclude: [input.accountId] }),
      );

      await trx('trend_runs').where(key).delete();
      await trx('trend_runs').insert({
        ...key,
        months: months.map((m) => `${m}-01`),
        versions: vs.map((v) => v.version),
        inputs_checksum: checksum,
      });
      await trx.raw(
        `INSERT INTO trends (account_id, month, scope, public_id, org_name, usage_type, view, "values", mom_kind,
                             mom_abs, mom_pct, six_kind, six_abs, six_pct)
         SELECT :account, CAST(:month AS date), x.scope, x.public_id, x.org_name, x.usage_type, x.view, x.vals,
                x.mom_kind, x.mom_abs, x.mom_pct, x.six_kind, x.six_abs, x.six_pct
           FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(scope text, public_id text, org_name text,
                usage_type text, view text, vals numeric[], mom_kind text, mom_abs numeric, mom_pct numeric,
                six_kind text, six_abs numeric, six_pct numeric)`,
        {
          account: input.accountId,
          month: `${input.month}-01`,
          rows: JSON.stringify(
            rows.map((r) => ({
              scope: r.scope,
              public_id: r.public_id ?? '',
              org_name: r.org_name,
              usage_type: r.usage_type,
              view: r.view,
              vals: r.values,
              mom_kind: r.mom.kind,
              mom_abs: r.mom.abs,
              mom_pct: r.mom.pct,
              six_kind: r.six_month.kind,
              six_abs: r.six_month.abs,
              six_pct: r.six_month.pct,
            })),
          ),
        },
      );
      const rank = new Map<string, number>();
      await trx.raw(
        `INSERT INTO trend_movers (account_id, month, view, usage_type, kind, rank, public_id, previous, current, abs, pct)
         SELECT :account, CAST(:month AS date), x.view, x.usage_type, x.kind, x.rank, x.public_id, x.previous,
                x.current, x.abs, x.pct
           FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(view text, usage_type text, kind text, rank int,
                public_id text, previous numeric, current numeric, abs numeric, pct numeric)`,
        {
          account: input.accountId,
          month: `${input.month}-01`,
          rows: JSON.stringify(
            movers.map((m) => {
              const k = `${m.view}|${m.usage_type}|${m.kind}`;
              rank.set(k, (rank.get(k) ?? 0) + 1);
              return { ...m, rank: rank.get(k) };
            }),
          ),
        },
      );
      return {
        accountId: input.accountId,
        month: input.month,
        months,
        missingMonths,
        changed: true,
        rows: rows.length,
        movers: movers.length,
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
  q: { accountId: string; month: string; view?: View; org?: string },
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
