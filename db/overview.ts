import type { Knex } from 'knex';

/**
 * What an operator looks at after a run (the demo prints it; a console page will too): what is loaded per org,
 * quarantine by reason, each attributed day's state, the ledger's totals. Reads only.
 */

export async function loadedByOrg(db: Knex): Promise<Record<string, unknown>[]> {
  const { rows } = await db.raw(`
    SELECT o.public_id AS org, o.billable, to_char(min(f.hour), 'YYYY-MM-DD') AS first_day,
           to_char(max(f.hour), 'YYYY-MM-DD') AS last_day, count(*) AS facts, count(DISTINCT f.product_id) AS products,
           count(DISTINCT f.tag_set_id) AS tag_sets
      FROM usage_facts f JOIN orgs o ON o.id = f.org_id GROUP BY 1, 2 ORDER BY 1`);
  return rows;
}

export async function quarantineByReason(db: Knex): Promise<{ reason: string; records: string }[]> {
  return (await db.raw(`SELECT reason, count(*) AS records FROM quarantine GROUP BY 1 ORDER BY 1`)).rows;
}

/** The account's first day with usage, the last day that ended before `asOf`, and the last month that ended. */
export async function usageRange(
  db: Knex,
  accountId: string,
  asOf: string,
): Promise<{ first_day: string; last_day: string; last_ended_month: string } | undefined> {
  const { rows } = await db.raw(
    `SELECT to_char(min(f.hour) AT TIME ZONE a.timezone, 'YYYY-MM-DD') AS first_day,
            to_char((CAST(:asOf AS timestamptz) AT TIME ZONE a.timezone)::date - 1, 'YYYY-MM-DD') AS last_day,
            to_char(date_trunc('month', CAST(:asOf AS timestamptz) AT TIME ZONE a.timezone) - interval '1 month',
                    'YYYY-MM') AS last_ended_month
       FROM accounts a JOIN orgs o ON o.account_id = a.id JOIN usage_facts f ON f.org_id = o.id
      WHERE a.id = :account GROUP BY a.timezone`,
    { account: accountId, asOf },
  );
  return rows[0];
}

/** Each attributed day's state (a hash of its counts and file checksums): what a re-run changed, day by day. */
export async function attributionStates(
  db: Knex,
  accountId: string,
  from: string,
  to: string,
): Promise<Map<string, string>> {
  const { rows } = await db.raw(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, md5(concat_ws('|', facts, hourly_rows, daily_rows, files::text)) AS state
       FROM attribution_runs WHERE account_id = ? AND day BETWEEN ? AND ?`,
    [accountId, from, to],
  );
  return new Map((rows as { day: string; state: string }[]).map((r) => [r.day, r.state]));
}

export async function attributionTotals(
  db: Knex,
  accountId: string,
  from: string,
  to: string,
): Promise<{ days: number; facts: string; hourly_rows: string; files: number }> {
  const { rows } = await db.raw(
    `SELECT count(*)::int AS days, coalesce(sum(facts), 0)::bigint AS facts,
            coalesce(sum(hourly_rows), 0)::bigint AS hourly_rows,
            coalesce(sum(jsonb_array_length(files)), 0)::int AS files
       FROM attribution_runs WHERE account_id = ? AND day BETWEEN ? AND ?`,
    [accountId, from, to],
  );
  return rows[0];
}

/** A product's largest tag combinations of a month (one column per tag key in effect; blank = untagged). */
export async function topTagCombinations(
  db: Knex,
  q: { accountId: string; product: string; month: string; tagKeys: string[]; limit: number },
): Promise<Record<string, unknown>[]> {
  const { rows } = await db.raw(
    `SELECT d.cells, trim_scale(round(sum(d.total_usage), 3))::text AS total, count(DISTINCT d.org_id) AS orgs
       FROM attribution_daily d JOIN products p ON p.id = d.product_id
      WHERE d.account_id = ? AND p.code = ? AND to_char(d.day, 'YYYY-MM') = ?
      GROUP BY d.cells ORDER BY sum(d.total_usage) DESC LIMIT ?`,
    [q.accountId, q.product, q.month, q.limit],
  );
  return (rows as { cells: (string | null)[]; total: string; orgs: string }[]).map((r) => ({
    ...Object.fromEntries(q.tagKeys.map((k, i) => [k, r.cells[i] ?? ''])),
    total: r.total,
    orgs: r.orgs,
  }));
}

export async function latestEstimateAt(db: Knex, accountId: string): Promise<Date | null> {
  const { rows } = await db.raw(`SELECT max(as_of) AS latest FROM estimate_runs WHERE account_id = ?`, [
    accountId,
  ]);
  return rows[0].latest ? new Date(rows[0].latest) : null;
}

/** Per kind of mail, how many the ledger holds and how many are sent. */
export async function ledgerTotals(
  db: Knex,
  accountId: string,
): Promise<{ kind: string; sent: number; mails: number }[]> {
  const { rows } = await db.raw(
    `SELECT kind, count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*)::int AS mails
       FROM deliveries WHERE account_id = ? GROUP BY kind ORDER BY kind`,
    [accountId],
  );
  return rows;
}

export async function financeRecipients(db: Knex, accountId: string): Promise<string[]> {
  return db('finance_recipients').where({ account_id: accountId }).orderBy('email').pluck('email');
}

/** The account's attribution tag keys in effect now (the latest list). */
export async function currentTagKeys(db: Knex, accountId: string): Promise<string[]> {
  const r = await db('attribution_tag_keys')
    .where({ account_id: accountId })
    .orderBy('effective_from', 'desc')
    .first('tag_keys');
  return (r?.tag_keys as string[] | undefined) ?? [];
}
