import { z } from 'zod';
import type { Knex } from 'knex';
import { auditRows } from '../../db/audit';
import { currentSpec } from '../../db/account-spec';
import { applyAccountSpec } from '../../db/accounts';
import { estimateSeries } from '../../db/estimate-reads';
import { orgTree } from '../../db/accounts';
import type { Requirement } from '../../domain/access';
import { validateSpec } from '../../domain/spec';
import { alertNotices, alertStates } from '../../queries/alerts';
import { deliveries } from '../../queries/deliveries';
import { latestEstimate } from '../../queries/estimates';
import { requireOrg, requireParentLevel, type Scope } from '../../queries/scope';
import { trendsReport } from '../../queries/trends';
import { hourParam, intParam } from '../params';
import { PARENT_USAGE_READ, route, USAGE_READ } from '../route';
import { invalid, offsetOf } from '../schemas';

import { BASE, checkedMonth, decimal, iso, monthPath, orgQuery } from './orgtally-common';
import { monthEndRoutes } from './orgtally-month-end';

/** orgtally's own endpoints: figures as exact decimal strings, instants as ISO 8601. */
const NOTIFY_READ: Requirement = { permissions: ['usage_notifications_read'], parentOnly: false };
const NOTIFY_WRITE: Requirement = { permissions: ['usage_notifications_write'], parentOnly: true };
const USAGE_EDIT: Requirement = { permissions: ['usage_edit'], parentOnly: true };
const AUDIT_READ: Requirement = { permissions: ['user_access_read'], parentOnly: true };

const orgItem = z.object({
  public_id: z.string(),
  name: z.string(),
  parent: z.string().nullable(),
  billable: z.boolean(),
});
async function visibleOrgs(db: Knex, scope: Scope) {
  // The caller's own org has a parent it may not see: that ancestor is not named.
  return (await orgTree(db, scope.accountId))
    .filter((o) => scope.orgs.has(o.public_id))
    .map((o) => ({ ...o, parent: o.parent !== null && scope.orgs.has(o.parent) ? o.parent : null }));
}

/** Applies the account's spec with one section replaced: validated and audited as `account apply` is. */
async function applySection(db: Knex, scope: Scope, now: number, section: Record<string, unknown>) {
  const spec = { ...(await currentSpec(db, scope.accountId, now)), ...section };
  const v = validateSpec(spec);
  if (!v.ok) throw invalid(v.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  return applyAccountSpec(db, v.spec, { asOfMs: now, actor: scope.actor });
}

const tagKeyEntry = z.object({ effective_from: z.string(), tag_keys: z.array(z.string()) });
const tagKeysOf = async (db: Knex, accountId: string) =>
  (await db('attribution_tag_keys')
    .where({ account_id: accountId })
    .orderBy('effective_from')
    .select(db.raw(`to_char(effective_from, 'YYYY-MM-DD') AS effective_from`), 'tag_keys')) as {
    effective_from: string;
    tag_keys: string[];
  }[];

export const orgtallyRoutes = [
  route({
    method: 'GET',
    url: `${BASE}/orgs`,
    operationId: 'ListOrgs',
    summary: 'The orgs the caller may see: its own and those below it',
    group: 'orgtally',
    auth: 'key_pair',
    need: USAGE_READ,
    query: z.strictObject({}),
    response: z.object({ data: z.array(orgItem) }),
    handle: async ({ db, scope }) => ({ data: await visibleOrgs(db, scope) }),
  }),
  route({
    method: 'GET',
    url: `${BASE}/orgs/:org`,
    operationId: 'GetOrg',
    summary: 'One org and the orgs directly below it',
    group: 'orgtally',
    auth: 'key_pair',
    need: USAGE_READ,
    params: z.strictObject({ org: z.string() }),
    query: z.strictObject({}),
    response: z.object({ data: orgItem.extend({ children: z.array(z.string()) }) }),
    handle: async ({ db, scope, params }) => {
      requireOrg(scope, params.org);
      const orgs = await visibleOrgs(db, scope);
      const o = orgs.find((x) => x.public_id === params.org) as (typeof orgs)[number];
      return {
        data: { ...o, children: orgs.filter((c) => c.parent === o.public_id).map((c) => c.public_id) },
      };
    },
  }),
  ...monthEndRoutes,
  route({
    method: 'GET',
    url: `${BASE}/trends/:month`,
    operationId: 'GetTrends',
    summary: 'Six months to this one: month-over-month and six-month change per org and product',
    group: 'orgtally',
    auth: 'key_pair',
    need: USAGE_READ,
    params: monthPath,
    query: z.strictObject({ view: z.enum(['all', 'billable']).optional(), ...orgQuery }),
    response: z.object({
      months: z.array(z.string()),
      missing_months: z.array(z.string()),
      rows: z.array(
        z.object({
          scope: z.string(),
          public_id: z.string(),
          org_name: z.string(),
          usage_type: z.string(),
          view: z.string(),
          values: z.array(decimal.nullable()),
          mom_kind: z.string(),
          mom_abs: decimal.nullable(),
          mom_pct: decimal.nullable(),
          six_kind: z.string(),
          six_abs: decimal.nullable(),
          six_pct: decimal.nullable(),
        }),
      ),
    }),
    handle: async ({ db, scope, params, query }) => {
      const t = await trendsReport(db, scope, {
        month: checkedMonth(params.month),
        view: query.view,
        org: query.org,
      });
      return { months: t.months, missing_months: t.missingMonths, rows: t.rows };
    },
  }),
  route({
    method: 'GET',
    url: `${BASE}/estimates`,
    operationId: 'GetEstimate',
    summary: 'The latest estimate (or the one of as_of’s hour): month-to-date and projected figures',
    group: 'orgtally',
    auth: 'key_pair',
    need: USAGE_READ,
    query: z.strictObject({ as_of: hourParam.optional(), ...orgQuery }),
    response: z.object({
      run: z.object({
        as_of: z.string(),
        month: z.string(),
        hours_elapsed: z.number().int(),
        month_hours: z.number().int(),
        data_complete_through: z.string(),
      }),
      totals: z
        .array(
          z.object({
            usage_type: z.string(),
            unit: z.string(),
            method: z.string(),
            mtd_usage: decimal,
            mtd_billable: decimal,
            projected_usage: decimal,
            projected_billable: decimal,
            included_usage: decimal,
            projected_on_demand: decimal,
            projected_on_demand_cost: decimal,
          }),
        )
        .nullable(),
      /** The account's currency (ISO 4217): what projected_on_demand_cost is in. */
      currency: z.string(),
      orgs: z.array(
        z.object({
          public_id: z.string(),
          org_name: z.string(),
          usage_type: z.string(),
          mtd_usage: decimal,
          projected_usage: decimal,
        }),
      ),
    }),
    handle: async ({ db, scope, query }) => {
      if (query.org !== undefined) requireOrg(scope, query.org);
      const e = await latestEstimate(db, scope, {
        asOf: query.as_of === undefined ? undefined : new Date(query.as_of).toISOString(),
      });
      // Money (the projected on-demand cost) is billing: without billing_read the account totals are left out.
      const totals = e.totals && scope.permissions.has('billing_read') ? e.totals : null;
      return {
        run: {
          ...e.run,
          as_of: iso(e.run.as_of) as string,
          data_complete_through: iso(e.run.data_complete_through) as string,
        },
        totals,
        currency: scope.currency,
        orgs: e.orgs.filter((o) => query.org === undefined || o.public_id === query.org),
      };
    },
  }),
  route({
    method: 'GET',
    url: `${BASE}/estimates/series`,
    operationId: 'GetEstimateSeries',
    summary: 'Every estimate run of a month: how the projection moved, per product',
    group: 'orgtally',
    auth: 'key_pair',
    need: PARENT_USAGE_READ,
    query: z.strictObject({ month: z.string() }),
    response: z.object({
      data: z.array(
        z.object({ as_of: z.string(), usage_type: z.string(), mtd_usage: decimal, projected_usage: decimal }),
      ),
    }),
    handle: async ({ db, scope, query }) => ({
      data: await estimateSeries(db, scope.accountId, checkedMonth(query.month)),
    }),
  }),
  route({
    method: 'GET',
    url: `${BASE}/attribution/tag-keys`,
    operationId: 'GetTagKeys',
    summary: 'The attribution tag keys and the day each set took effect',
    group: 'orgtally',
    auth: 'key_pair',
    need: USAGE_READ,
    query: z.strictObject({}),
    response: z.object({ data: z.array(tagKeyEntry) }),
    handle: async ({ db, scope }) => ({ data: await tagKeysOf(db, scope.accountId) }),
  }),
  route({
    method: 'PUT',
    url: `${BASE}/attribution/tag-keys`,
    operationId: 'SetTagKeys',
    summary:
      'Change or add tag keys from a day on (default: today in the account’s zone), as account apply does',
    group: 'orgtally',
    auth: 'key_pair',
    need: USAGE_EDIT,
    body: z.strictObject({ tag_keys: z.array(z.string()), effective_from: z.string().optional() }),
    response: z.object({ changes: z.array(z.string()), data: z.array(tagKeyEntry) }),
    handle: async ({ db, scope, body, now }) => {
      const r = await applySection(db, scope, now, { attribution: body });
      return { changes: r.changes, data: await tagKeysOf(db, scope.accountId) };
    },
  }),
  route({
    method: 'GET',
    url: `${BASE}/alert-rules`,
    operationId: 'ListAlertRules',
    summary: 'The account’s alert rules, as the spec states them',
    group: 'orgtally',
    auth: 'key_pair',
    need: NOTIFY_READ,
    query: z.strictObject({}),
    response: z.object({ data: z.array(z.record(z.string(), z.unknown())) }),
    handle: async ({ db, scope }) => {
      const rules = (await db('alert_rules')
        .where({ account_id: scope.accountId })
        .orderBy('rule_id')
        .pluck('definition')) as { scope?: { org?: string } }[];
      // A rule about an org outside the caller's subtree is not the caller's to see.
      return {
        data: rules.filter(
          (r) => scope.parentLevel || (r.scope?.org !== undefined && scope.orgs.has(r.scope.org)),
        ),
      };
    },
  }),
  route({
    method: 'PUT',
    url: `${BASE}/alert-rules`,
    operationId: 'SetAlertRules',
    summary:
      'Replace the alert rules (the spec’s `alerts` section): validated, applied and audited as account apply',
    group: 'orgtally',
    auth: 'key_pair',
    need: NOTIFY_WRITE,
    body: z.strictObject({ alerts: z.array(z.unknown()) }),
    response: z.object({ changes: z.array(z.string()) }),
    handle: async ({ db, scope, body, now }) => ({
      changes: (await applySection(db, scope, now, { alerts: body.alerts })).changes,
    }),
  }),
  route({
    method: 'GET',
    url: `${BASE}/alerts`,
    operationId: 'ListAlerts',
    summary: 'Alert states (firing only, or all) and the latest notices, of the orgs in scope',
    group: 'orgtally',
    auth: 'key_pair',
    need: NOTIFY_READ,
    query: z.strictObject({ all: z.enum(['true', 'false']).optional(), limit: intParam(1, 1000).optional() }),
    response: z.object({
      states: z.array(
        z.object({
          rule_id: z.string(),
          scope_key: z.string(),
          state: z.string(),
          window: z.string().nullable(),
          last_notified_at: z.string().nullable(),
          message: z.string(),
          updated_at: z.string(),
        }),
      ),
      notices: z.array(
        z.object({
          id: z.string(),
          rule_id: z.string(),
          kind: z.string(),
          scope_key: z.string(),
          notify: z.string(),
          window: z.string(),
          as_of: z.string(),
          message: z.string(),
          created_at: z.string(),
        }),
      ),
    }),
    handle: async ({ db, scope, query }) => {
      const states = await alertStates(db, scope, { all: query.all === 'true' });
      const notices = await alertNotices(db, scope, { limit: query.limit ?? 100 });
      return {
        states: states.map((s) => ({
          ...s,
          last_notified_at: iso(s.last_notified_at),
          updated_at: iso(s.updated_at) as string,
        })),
        notices: notices.map((n) => ({
          ...n,
          as_of: iso(n.as_of) as string,
          created_at: iso(n.created_at) as string,
        })),
      };
    },
  }),
  route({
    method: 'GET',
    url: `${BASE}/deliveries`,
    operationId: 'ListDeliveries',
    summary: 'The mail ledger: every report and alert mail, its status and attempts',
    group: 'orgtally',
    auth: 'key_pair',
    need: { permissions: ['usage_notifications_read'], parentOnly: true },
    query: z.strictObject({
      status: z.enum(['pending', 'sending', 'sent', 'failed']).optional(),
      limit: intParam(1, 1000).optional(),
    }),
    response: z.object({
      data: z.array(
        z.object({
          id: z.string(),
          kind: z.string(),
          recipient: z.string(),
          subject: z.string().nullable(),
          status: z.string(),
          attempts: z.number().int(),
          unknown_outcomes: z.number().int(),
          last_error: z.string().nullable(),
          created_at: z.string(),
          sent_at: z.string().nullable(),
        }),
      ),
    }),
    handle: async ({ db, scope, query }) => {
      requireParentLevel(scope, 'deliveries');
      const rows = await deliveries(db, scope, { status: query.status, limit: query.limit ?? 100 });
      return {
        data: rows.map((d) => ({ ...d, created_at: iso(d.created_at) as string, sent_at: iso(d.sent_at) })),
      };
    },
  }),
  route({
    method: 'GET',
    url: `${BASE}/audit`,
    operationId: 'ListAudit',
    summary: 'The audit log, newest first: who changed what, when, before and after',
    group: 'orgtally',
    auth: 'key_pair',
    need: AUDIT_READ,
    query: z.strictObject({
      since: hourParam.optional(),
      'page[size]': intParam(1, 1000).optional(),
      'page[cursor]': z.string().optional(),
    }),
    response: z.object({
      data: z.array(
        z.object({
          id: z.string(),
          at: z.string(),
          actor: z.string(),
          action: z.string(),
          target: z.string(),
          before: z.unknown(),
          after: z.unknown(),
        }),
      ),
      meta: z.object({ pagination: z.object({ next_cursor: z.string().nullable() }) }),
    }),
    handle: async ({ db, scope, query, pager }) => {
      const size = query['page[size]'] ?? 100;
      const { 'page[cursor]': token, ...filters } = query;
      const before =
        token === undefined
          ? undefined
          : offsetOf(pager.read(token, filters, 'page[cursor]'), 'page[cursor]');
      const rows = await auditRows(db, {
        accountId: scope.accountId,
        since: query.since === undefined ? undefined : new Date(query.since).toISOString(),
        beforeId: before === undefined ? undefined : String(before),
        limit: size + 1,
      });
      const page = rows.slice(0, size);
      const last = page[page.length - 1];
      return {
        data: page,
        meta: {
          pagination: {
            next_cursor: rows.length > size && last ? pager.issue(filters, Number(last.id)) : null,
          },
        },
      };
    },
  }),
];
