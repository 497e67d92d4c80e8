import type { Knex } from 'knex';
import {
  addDays,
  alertEventKey,
  alertScopeKey,
  BASELINE_DAYS,
  evaluateChange,
  evaluateStall,
  evaluateThreshold,
  lastCompleteDay,
  nextAlertState,
  STALL_ACTIVE_DAYS,
  type AlertEvaluationBase,
  type AlertKind,
  type AlertState,
} from '../domain/alerts';
import { AVG_SCALE } from '../domain/billing';
import { ErrorType, OrgtallyError } from '../domain/errors';
import type { AlertRuleSpec } from '../domain/spec';
import { normalizeTag } from '../domain/tags';
import { DAY_MS, parseDurationHours } from '../domain/time';
import { planDeliveries } from './deliveries';
import { dailySql, estimatePeriod, orgEstimates, type EstimatePeriod } from './estimates';

/**
 * Owner of alert_states and alert_events. Evaluates an account's alert rules (domain/alerts.ts does the rule
 * math) over the rollups of db/estimates.ts, moves each (rule, scope) to its next state and, for every notice
 * (fire, renotify, resolve, retract), stores an event and one delivery ledger row per recipient — all in one
 * transaction, so a retried evaluation finds the state moved and creates nothing twice.
 *
 * Scopes: a threshold is about one product, for the account (billable usage; `percent_of_included` compares
 * with the account's included quantity) or one org (its usage). spike / drop are evaluated per org × product
 * within the scope (every org, every product unless narrowed). stall per org (data of any product) or, when
 * the rule names a product, per org × product. A tag filter narrows threshold, spike and drop to the facts
 * whose tag set carries every listed tag (read from usage_facts: slower, meant for a few rules).
 */

export interface AlertNotice {
  eventId: string;
  ruleId: string;
  kind: AlertKind;
  scopeKey: string;
  notify: 'fire' | 'renotify' | 'resolve' | 'retract';
  window: string;
  message: string;
}

export interface AlertRunResult {
  accountId: string;
  asOf: string;
  rules: number;
  evaluated: number;
  notEvaluated: number;
  firing: number;
  notices: AlertNotice[];
  /** Why nothing was evaluated: a later hour was evaluated already. */
  skipped?: string;
}

interface Evaluated {
  rule: AlertRuleSpec;
  scopeKey: string;
  scope: { org?: string; product?: string; tags?: string[] };
  evaluation: AlertEvaluationBase & Record<string, unknown>;
}

interface Names {
  orgs: Map<number, { publicId: string; name: string; billable: boolean }>;
  products: Map<number, { code: string; unit: string }>;
  orgIds: Map<string, number>;
  productIds: Map<string, number>;
}

async function names(trx: Knex.Transaction, accountId: string): Promise<Names> {
  const orgs = await trx('orgs')
    .where({ account_id: accountId })
    .select('id', 'public_id', 'name', 'billable');
  const products = await trx('products').where({ account_id: accountId }).select('id', 'code', 'unit');
  return {
    orgs: new Map(orgs.map((o) => [o.id, { publicId: o.public_id, name: o.name, billable: o.billable }])),
    products: new Map(products.map((p) => [p.id, { code: p.code, unit: p.unit }])),
    orgIds: new Map(orgs.map((o) => [o.public_id, o.id])),
    productIds: new Map(products.map((p) => [p.code, p.id])),
  };
}

function ruleTags(rule: AlertRuleSpec): string[] {
  return (rule.scope.tags ?? []).map((t) => {
    const n = normalizeTag(t);
    if (!n.ok)
      throw new OrgtallyError(ErrorType.InvalidInput, `alert rule ${rule.id}: tag "${t}": ${n.detail}`);
    return n.tag;
  });
}

/** SQL filter on alias x for the rule's org and product, with its bindings. */
function scopeFilter(rule: AlertRuleSpec, n: Names): { filter: string; bindings: Record<string, unknown> } {
  const parts: string[] = [];
  const bindings: Record<string, unknown> = {};
  if (rule.scope.org !== undefined) {
    parts.push('x.org_id = :scopeOrg');
    bindings.scopeOrg = n.orgIds.get(rule.scope.org) ?? -1;
  }
  if (rule.scope.product !== undefined) {
    parts.push('x.product_id = :scopeProduct');
    bindings.scopeProduct = n.productIds.get(rule.scope.product) ?? -1;
  }
  return { filter: parts.length ? parts.join(' AND ') : 'true', bindings };
}

/**
 * Tag-filtered copies of the rollups for one rule over [from, to): temp tables `<name>_hourly` and
 * `<name>_daily` with the columns of usage_hourly and usage_daily.
 */
async function taggedRollup(
  trx: Knex.Transaction,
  name: string,
  p: EstimatePeriod,
  rule: AlertRuleSpec,
  n: Names,
  range: { from: Date; to: Date; fromDay: string; toDay: string },
): Promise<{ hourly: string; daily: string }> {
  const { filter, bindings } = scopeFilter(rule, n);
  const hourly = `${name}_hourly`;
  const daily = `${name}_daily`;
  await trx.raw(
    `CREATE TEMP TABLE ${hourly} ON COMMIT DROP AS
     SELECT o.account_id, x.hour, x.org_id, x.product_id, sum(x.value) AS total
       FROM usage_facts x JOIN orgs o ON o.id = x.org_id JOIN tag_sets t ON t.id = x.tag_set_id
      WHERE o.account_id = :account AND x.hour >= :from AND x.hour < :to AND t.tags @> CAST(:tags AS text[])
        AND ${filter}
      GROUP BY o.account_id, x.hour, x.org_id, x.product_id`,
    { account: p.accountId, from: range.from, to: range.to, tags: ruleTags(rule), ...bindings },
  );
  await trx.raw(
    `CREATE TEMP TABLE ${name}_days ON COMMIT DROP AS
     SELECT CAST(:account AS text) AS account_id, d::date AS day,
            floor(CAST(:p AS numeric) * 745 / 100)::int + 1 AS keep,
            d::date::timestamp AT TIME ZONE :tz AS day_start, (d::date + 1)::timestamp AT TIME ZONE :tz AS day_end
       FROM generate_series(CAST(:fromDay AS date), CAST(:toDay AS date), interval '1 day') d`,
    { account: p.accountId, tz: p.timezone, p: p.p99DropPercent, fromDay: range.fromDay, toDay: range.toDay },
  );
  await trx.raw(`CREATE TEMP TABLE ${daily} ON COMMIT DROP AS ${dailySql(hourly, `${name}_days`)}`);
  return { hourly, daily };
}

/** The value of the product's rule over one day's hours (a DST day has 23 or 25), per org × product × day. */
async function dayValues(
  trx: Knex.Transaction,
  p: EstimatePeriod,
  daily: string,
  range: { fromDay: string; toDay: string },
  scope: { filter: string; bindings: Record<string, unknown> },
): Promise<{ org_id: number; product_id: number; day: string; value: string }[]> {
  const { rows } = await trx.raw(
    `SELECT x.org_id, x.product_id, to_char(x.day, 'YYYY-MM-DD') AS day,
            trim_scale(CASE pr.aggregation
              WHEN 'sum' THEN x.total
              WHEN 'avg' THEN div(2 * x.total * power(10::numeric, ${AVG_SCALE}) + h.dh, 2 * h.dh)
                              / power(10::numeric, ${AVG_SCALE})
              WHEN 'max' THEN x.peak
              WHEN 'last' THEN x.last_value
              WHEN 'p99' THEN coalesce(x.top[floor(CAST(:p AS numeric) * h.dh / 100)::int + 1], 0)
            END)::text AS value
       FROM ${daily} x
       JOIN products pr ON pr.id = x.product_id
       CROSS JOIN LATERAL (SELECT (extract(epoch FROM ((x.day + 1)::timestamp AT TIME ZONE :tz)
                                   - (x.day::timestamp AT TIME ZONE :tz)) / 3600)::int AS dh) h
      WHERE x.account_id = :account AND x.day >= CAST(:fromDay AS date) AND x.day <= CAST(:toDay AS date)
        AND ${scope.filter}`,
    {
      account: p.accountId,
      tz: p.timezone,
      p: p.p99DropPercent,
      fromDay: range.fromDay,
      toDay: range.toDay,
      ...scope.bindings,
    },
  );
  return rows;
}

/** Per org × product: the start of the last hour with data before asOf, within the last 8 days. */
async function lastData(
  trx: Knex.Transaction,
  p: EstimatePeriod,
): Promise<{ org_id: number; product_id: number; last: Date }[]> {
  const { rows } = await trx.raw(
    `SELECT org_id, product_id, max(last_hour) AS last FROM (
       SELECT org_id, product_id, last_hour FROM usage_daily
        WHERE account_id = :account AND day >= CAST(:fromDay AS date) AND day < CAST(:asOfDay AS date)
       UNION ALL
       SELECT org_id, product_id, max(hour) FROM usage_hourly
        WHERE account_id = :account AND hour >= CAST(:dayStart AS timestamptz) AND hour < CAST(:asOf AS timestamptz)
        GROUP BY org_id, product_id) x
     GROUP BY org_id, product_id`,
    {
      account: p.accountId,
      fromDay: addDays(p.asOfDay, -(STALL_ACTIVE_DAYS + 1)),
      asOfDay: p.asOfDay,
      dayStart: p.asOfDayStart,
      asOf: p.asOf,
    },
  );
  return rows;
}

async function evaluateRules(
  trx: Knex.Transaction,
  p: EstimatePeriod,
  rules: AlertRuleSpec[],
  n: Names,
): Promise<Evaluated[]> {
  const asOfMs = p.asOf.getTime();
  const out: Evaluated[] = [];
  const month = p.month.slice(0, 7);
  let untaggedEstimates = false;
  let stallData: Awaited<ReturnType<typeof lastData>> | undefined;
  const stallInputs = async () => (stallData ??= await lastData(trx, p));
  const sevenDaysAgo = asOfMs - STALL_ACTIVE_DAYS * DAY_MS;

  for (const [i, rule] of rules.entries()) {
    const tags = ruleTags(rule);
    const scope = scopeFilter(rule, n);
    const orgName = (id: number) => n.orgs.get(id)?.publicId ?? String(id);
    const product = (id: number) => n.products.get(id) ?? { code: String(id), unit: '' };

    if (rule.kind === 'threshold') {
      const code = rule.scope.product as string;
      const unit = n.products.get(n.productIds.get(code) ?? -1)?.unit ?? '';
      const measure = rule.measure ?? 'mtd';
      let table = 'est_org';
      if (tags.length) {
        const t = await taggedRollup(trx, `al_${i}`, p, rule, n, {
          from: p.monthStart,
          to: p.asOf,
          fromDay: p.firstDay,
          toDay: p.asOfDay,
        });
        table = `al_${i}_est`;
        await orgEstimates(trx, p, { daily: t.daily, hourly: t.hourly, table });
      } else if (!untaggedEstimates) {
        await orgEstimates(trx, p);
        untaggedEstimates = true;
      }
      const col = measure === 'mtd' ? 'mtd' : 'projected';
      const account = rule.scope.org === undefined;
      const { rows } = await trx.raw(
        `SELECT coalesce(sum(e.${col}) FILTER (WHERE ${account ? 'o.billable' : 'true'}), 0)::text AS value
           FROM ${table} e JOIN orgs o ON o.id = e.org_id
          WHERE e.product_id = :product ${account ? '' : 'AND e.org_id = :org'}`,
        { product: n.productIds.get(code) ?? -1, org: n.orgIds.get(rule.scope.org ?? '') ?? -1 },
      );
      let included: string | null = null;
      if (rule.percent_of_included !== undefined) {
        const t = await trx('estimate_totals')
          .where({ account_id: p.accountId, as_of: p.asOf, usage_type: code })
          .first(trx.raw('included_usage::text AS included'));
        if (!t)
          throw new OrgtallyError(
            ErrorType.InvalidInput,
            `no estimate of ${p.accountId} at ${p.asOf.toISOString()}: compute estimates before alerts`,
          );
        included = t.included;
      }
      const who = account ? 'the account' : rule.scope.org;
      const tagText = tags.length ? ` tagged ${tags.join(', ')}` : '';
      const evaluation = evaluateThreshold(
        {
          measure,
          ...(rule.above !== undefined ? { above: rule.above } : {}),
          ...(rule.percent_of_included !== undefined
            ? { percent_of_included: rule.percent_of_included }
            : {}),
        },
        {
          subject: `${code}${tagText} for ${who}`,
          unit,
          month,
          asOfMs,
          value: rows[0].value,
          included,
        },
      );
      const sc = { ...(rule.scope.org ? { org: rule.scope.org } : {}), product: code, tags };
      out.push({ rule, scope: sc, scopeKey: alertScopeKey(sc), evaluation: { ...evaluation } });
      continue;
    }

    if (rule.kind === 'spike' || rule.kind === 'drop') {
      const day = lastCompleteDay(asOfMs, p.latenessHours, p.timezone);
      const fromDay = addDays(day, -BASELINE_DAYS);
      let daily = 'usage_daily';
      if (tags.length) {
        const from = await zonedStart(trx, fromDay, p.timezone);
        const to = await zonedStart(trx, addDays(day, 1), p.timezone);
        daily = (await taggedRollup(trx, `al_${i}`, p, rule, n, { from, to, fromDay, toDay: day })).daily;
      }
      const values = await dayValues(trx, p, daily, { fromDay, toDay: day }, scope);
      const stall = new Map<string, number>(
        (await stallInputs()).map((s) => [`${s.org_id}/${s.product_id}`, s.last.getTime()]),
      );
      const series = new Map<string, { org: number; product: number; byDay: Map<string, string> }>();
      for (const v of values) {
        const key = `${v.org_id}/${v.product_id}`;
        let s = series.get(key);
        if (!s) series.set(key, (s = { org: v.org_id, product: v.product_id, byDay: new Map() }));
        s.byDay.set(v.day, v.value);
      }
      const days = Array.from({ length: BASELINE_DAYS + 1 }, (_, d) => addDays(fromDay, d));
      for (const [key, s] of series) {
        const pr = product(s.product);
        const last = stall.get(key) ?? null;
        const tagText = tags.length ? ` tagged ${tags.join(', ')}` : '';
        const evaluation = evaluateChange(
          { kind: rule.kind, change_percent: rule.change_percent, min_units: rule.min_units },
          {
            subject: `${pr.code}${tagText} for ${orgName(s.org)}`,
            unit: pr.unit,
            day,
            values: days.map((d) => s.byDay.get(d) ?? null),
            asOf: asOfMs,
            latenessHours: p.latenessHours,
            timeZone: p.timezone,
            stall: { lastDataMs: last, hadUsageInLast7Days: last !== null && last >= sevenDaysAgo },
          },
        );
        const sc = { org: orgName(s.org), product: pr.code, tags };
        out.push({ rule, scope: sc, scopeKey: alertScopeKey(sc), evaluation: { ...evaluation } });
      }
      continue;
    }

    // stall: per org, or per org × product when the rule names one
    const perProduct = rule.scope.product !== undefined;
    const groups = new Map<string, { org: number; product?: number; last: number }>();
    for (const s of await stallInputs()) {
      if (rule.scope.org !== undefined && s.org_id !== n.orgIds.get(rule.scope.org)) continue;
      if (perProduct && s.product_id !== n.productIds.get(rule.scope.product as string)) continue;
      const key = perProduct ? `${s.org_id}/${s.product_id}` : String(s.org_id);
      const g = groups.get(key);
      const last = s.last.getTime();
      if (!g) groups.set(key, { org: s.org_id, ...(perProduct ? { product: s.product_id } : {}), last });
      else g.last = Math.max(g.last, last);
    }
    for (const g of groups.values()) {
      const code = g.product === undefined ? undefined : product(g.product).code;
      const evaluation = evaluateStall({
        subject: code ? `${code} for ${orgName(g.org)}` : orgName(g.org),
        lastDataMs: g.last,
        asOfMs,
        latenessHours: p.latenessHours,
        hadUsageInLast7Days: g.last >= sevenDaysAgo,
      });
      const sc = { org: orgName(g.org), ...(code ? { product: code } : {}) };
      out.push({ rule, scope: sc, scopeKey: alertScopeKey(sc), evaluation: { ...evaluation } });
    }
  }
  return out;
}

async function zonedStart(trx: Knex.Transaction, day: string, tz: string): Promise<Date> {
  const { rows } = await trx.raw(`SELECT (CAST(? AS date))::timestamp AT TIME ZONE ? AS t`, [day, tz]);
  return rows[0].t;
}

/**
 * Evaluates every alert rule of the account at `asOf` (the estimate of that hour must be stored: percent rules
 * read its included quantity) and records state changes, events and ledger rows. Returns the notices created.
 */
export async function evaluateAlerts(
  db: Knex,
  input: { accountId: string; asOf: string },
  mailDomain: string,
): Promise<AlertRunResult> {
  return db.transaction(
    async (trx) => {
      await trx.raw('SET LOCAL jit = off');
      // One evaluation of an account at a time: states move in order.
      await trx.raw(`SELECT pg_advisory_xact_lock(hashtext('orgtally.alerts'), hashtext(?))`, [
        input.accountId,
      ]);
      const p = await estimatePeriod(trx, input.accountId, input.asOf);
      const last = await trx('alert_runs').where({ account_id: input.accountId }).first('last_as_of');
      if (last && (last.last_as_of as Date).getTime() > p.asOf.getTime()) {
        return {
          accountId: input.accountId,
          asOf: p.asOf.toISOString(),
          rules: 0,
          evaluated: 0,
          notEvaluated: 0,
          firing: 0,
          notices: [],
          skipped: `alerts were evaluated at ${(last.last_as_of as Date).toISOString()} already: an earlier hour changes nothing`,
        };
      }
      await trx('alert_runs')
        .insert({ account_id: input.accountId, last_as_of: p.asOf })
        .onConflict('account_id')
        .merge();
      const rules: AlertRuleSpec[] = (
        await trx('alert_rules').where({ account_id: input.accountId }).orderBy('rule_id')
      ).map((r: { definition: AlertRuleSpec }) => r.definition);
      const n = await names(trx, input.accountId);
      const evaluated = await evaluateRules(trx, p, rules, n);

      const states = new Map<string, AlertState>();
      const messages = new Map<string, string>();
      for (const s of await trx('alert_states').where({ account_id: input.accountId })) {
        const key = `${s.rule_id}\u0000${s.scope_key}`;
        states.set(key, {
          state: s.state,
          ...(s.window !== null ? { window: s.window } : {}),
          ...(s.last_notified_at ? { lastNotifiedMs: (s.last_notified_at as Date).getTime() } : {}),
        });
        messages.set(key, s.message);
      }
      const asOfMs = p.asOf.getTime();
      const notices: AlertNotice[] = [];
      const stateRows: Record<string, unknown>[] = [];
      for (const e of evaluated) {
        const key = `${e.rule.id}\u0000${e.scopeKey}`;
        const prev = states.get(key);
        const renotifyHours = e.rule.renotify ? parseDurationHours(e.rule.renotify) : undefined;
        const next = nextAlertState(prev, e.evaluation, {
          asOfMs,
          ...(renotifyHours !== undefined ? { renotifyHours } : {}),
        });
        const unchanged =
          next.notify === 'none' &&
          prev !== undefined &&
          prev.state === next.state &&
          prev.window === next.window &&
          messages.get(key) === e.evaluation.message;
        if (!unchanged) {
          stateRows.push({
            account_id: input.accountId,
            rule_id: e.rule.id,
            scope_key: e.scopeKey,
            state: next.state,
            window: next.window ?? null,
            last_notified_at: next.lastNotifiedMs === undefined ? null : new Date(next.lastNotifiedMs),
            message: e.evaluation.message,
            updated_at: trx.fn.now(),
          });
        }
        if (next.notify === 'none') continue;
        const window = next.noticeWindow ?? e.evaluation.window;
        const eventKey = alertEventKey({
          accountId: input.accountId,
          ruleId: e.rule.id,
          scopeKey: e.scopeKey,
          window,
          notify: next.notify,
          atMs: asOfMs,
        });
        const [row] = await trx('alert_events')
          .insert({
            event_key: eventKey,
            account_id: input.accountId,
            rule_id: e.rule.id,
            kind: e.rule.kind,
            scope_key: e.scopeKey,
            notify: next.notify,
            window,
            as_of: p.asOf,
            message: e.evaluation.message,
            details: JSON.stringify({
              rule: e.rule,
              scope: e.scope,
              evaluation: e.evaluation,
              dataCompleteThrough: p.dataCompleteThrough.toISOString(),
              timezone: p.timezone,
              latenessHours: p.latenessHours,
            }),
          })
          .onConflict('event_key')
          .ignore()
          .returning('id');
        if (!row) continue; // the same notice was recorded before (the ledger rows exist with it)
        const eventId = String(row.id);
        await planDeliveries(
          trx,
          e.rule.recipients.map((recipient) => ({
            dedupeKey: `${eventKey}/${recipient}`,
            kind: 'alert' as const,
            accountId: input.accountId,
            reference: { eventId },
            recipient,
          })),
          mailDomain,
        );
        notices.push({
          eventId,
          ruleId: e.rule.id,
          kind: e.rule.kind,
          scopeKey: e.scopeKey,
          notify: next.notify,
          window,
          message: e.evaluation.message,
        });
      }
      // one statement per 1 000 states, not one per scope (20 000 scopes per rule at 1 000 orgs × 20 products)
      for (let i = 0; i < stateRows.length; i += 1000) {
        await trx('alert_states')
          .insert(stateRows.slice(i, i + 1000))
          .onConflict(['account_id', 'rule_id', 'scope_key'])
          .merge();
      }
      return {
        accountId: input.accountId,
        asOf: p.asOf.toISOString(),
        rules: rules.length,
        evaluated: evaluated.filter((e) => e.evaluation.evaluated).length,
        notEvaluated: evaluated.filter((e) => !e.evaluation.evaluated).length,
        firing: evaluated.filter((e) => e.evaluation.firing).length,
        notices,
      };
    },
    { isolationLevel: 'repeatable read' },
  );
}

/** Alert ledger rows still to send (pending, or claimed without an outcome), created within the retry window. */
export async function pendingAlertDeliveries(
  db: Knex,
  accountId: string,
  withinMs: number,
): Promise<{ id: string; recipient: string }[]> {
  return db('deliveries')
    .where({ account_id: accountId, kind: 'alert' })
    .whereIn('status', ['pending', 'sending'])
    .where('created_at', '>', db.raw(`now() - make_interval(secs => ?)`, [withinMs / 1000]))
    .orderBy('id')
    .select(db.raw('id::text AS id'), 'recipient');
}

export interface AlertStateRow {
  rule_id: string;
  scope_key: string;
  state: 'ok' | 'firing';
  window: string | null;
  last_notified_at: Date | null;
  message: string;
  updated_at: Date;
}

export async function listAlertStates(
  db: Knex,
  accountId: string,
  opts: { all?: boolean } = {},
): Promise<AlertStateRow[]> {
  return db('alert_states')
    .where({ account_id: accountId })
    .modify((q) => {
      if (!opts.all) q.where({ state: 'firing' });
    })
    .orderByRaw('rule_id COLLATE "C", scope_key COLLATE "C"')
    .select('rule_id', 'scope_key', 'state', 'window', 'last_notified_at', 'message', 'updated_at');
}

export interface AlertEventRow {
  id: string;
  event_key: string;
  account_id: string;
  rule_id: string;
  kind: AlertKind;
  scope_key: string;
  notify: AlertNotice['notify'];
  window: string;
  as_of: Date;
  message: string;
  details: Record<string, unknown>;
  created_at: Date;
  deliveries?: { recipient: string; status: string }[];
}

const EVENT_COLS = `e.id::text AS id, e.event_key, e.account_id, e.rule_id, e.kind, e.scope_key, e.notify, e."window",
  e.as_of, e.message, e.details, e.created_at`;

export async function getAlertEvent(db: Knex, id: string): Promise<AlertEventRow> {
  const { rows } = await db.raw(`SELECT ${EVENT_COLS} FROM alert_events e WHERE e.id = ?`, [id]);
  if (!rows[0]) throw new OrgtallyError(ErrorType.InvalidInput, `no alert event ${id}`);
  return rows[0];
}

/** The account's alert notices, newest first, with the delivery status per recipient. */
export async function alertHistory(
  db: Knex,
  accountId: string,
  opts: { limit?: number } = {},
): Promise<AlertEventRow[]> {
  const { rows } = await db.raw(
    `SELECT ${EVENT_COLS},
            coalesce((SELECT json_agg(json_build_object('recipient', d.recipient, 'status', d.status) ORDER BY d.recipient)
                        FROM deliveries d WHERE d.kind = 'alert' AND d.reference->>'eventId' = e.id::text), '[]') AS deliveries
       FROM alert_events e WHERE e.account_id = ?
      ORDER BY e.as_of DESC, e.id DESC LIMIT ?`,
    [accountId, opts.limit ?? 200],
  );
  return rows;
}
