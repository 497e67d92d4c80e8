import type { Knex } from 'knex';
import { orgTree } from '../../db/accounts';
import { consoleMonths, defaultMonth } from '../../db/console-reads';
import { dailyUsage, subtreeEstimate, topTags } from '../../db/shared-usage';
import type { OpenShare } from '../../db/shares';
import { DAY_MS } from '../../domain/time';
import { requireOrg, type Scope } from '../../queries/scope';
import { dayIn, monthName } from '../format';
import { html, type Html } from '../html';
import { badParam } from '../params';
import { historyOf } from '../pages/usage-history';
import { usageMonth } from '../pages/usage-data';
import { orgTreeOf } from '../widgets';
import { dailyFigure, filtersForm, monthTable, statusFacts, tagsTable } from './sections';

/**
 * A shared dashboard: one org's (or a narrower one's) usage, read through the share's own scope — the share's
 * org and its descendants, usage_read (and billing_read when the share shows cost) — so nothing outside it can
 * be read, whatever the URL says. The URL can only narrow: to an org of the subtree, a product, a tag value; the
 * locked filters are the share's and always apply.
 */
export interface SharedView {
  db: Knex;
  scope: Scope;
  share: OpenShare;
  query: Record<string, string | undefined>;
  now: number;
  /** The account's zone: its calendar days and months. */
  accountZone: string;
}

export const DAILY_DAYS = 30;
const TOP_TAGS = 10;

export async function sharedDashboard(v: SharedView): Promise<{ title: string; body: Html }> {
  const { db, scope, share, query } = v;
  const org = query.org || share.org;
  // An org outside the share is not told apart from one that does not exist: the caller shows the neutral page.
  requireOrg(scope, org);
  const zone = zoneQ(query.tz, v.accountZone);
  const narrow = tagQ(query.tag);
  const filters = { ...narrow, ...share.locks }; // a lock always wins over the URL
  const asOf = new Date(v.now).toISOString();
  const tree = await orgTree(db, scope.accountId);
  const orgs = orgTreeOf(tree, scope, org);
  const ids = orgs.map((o) => o.public_id);
  const months = await consoleMonths(db, scope.accountId, asOf);
  const month = defaultMonth(months);
  const today = dayIn(v.now, v.accountZone);
  const from = dayIn(Date.parse(`${today}T12:00:00Z`) - (DAILY_DAYS - 1) * DAY_MS, 'UTC');
  const tomorrow = dayIn(Date.parse(`${today}T12:00:00Z`) + DAY_MS, 'UTC');
  const [um, est, days] = await Promise.all([
    month ? usageMonth(db, scope, { month, asOf, view: 'billable', orgs: ids }) : undefined,
    subtreeEstimate(db, { accountId: scope.accountId, orgs: ids }),
    dailyUsage(db, { accountId: scope.accountId, orgs: ids, from, to: tomorrow, zone: v.accountZone }),
  ]);
  const products = (um?.products ?? []).map((p) => (share.show_cost ? p : { ...p, cost: '' }));
  const product =
    productQ(
      query.product,
      products.map((p) => p.usage_type),
    ) ?? firstUsed(products);
  // The estimate of a month's end says something only while the month runs; after it, the close has the figures.
  const estimate =
    est && um?.status === 'month_to_date' && est.month === month
      ? {
          asOf: est.as_of.toISOString(),
          computedAt: est.computed_at.toISOString(),
          byProduct: new Map(est.products.map((p) => [p.usage_type, { mtd: p.mtd, projected: p.projected }])),
        }
      : undefined;
  const tags =
    product && month
      ? await topTags(db, {
          accountId: scope.accountId,
          orgs: ids,
          product,
          from: `${month}-01`,
          to: tomorrow,
          filters,
          limit: TOP_TAGS,
        })
      : undefined;
  const history = month ? await historyOf({ db, scope }, month, 'billable', org, orgs) : html``;
  const orgName = scope.orgs.get(org) ?? org;
  const locked = Object.entries(share.locks).map(([k, val]) => `${k}:${val}`);
  return {
    title: share.title,
    body: html`<p class="lede">
        Usage of
        <strong>${orgName}</strong>${org !== share.org ? html` (in ${scope.orgs.get(share.org)})` : ''},
        shared by ${scope.accountName}.
        ${locked.length ? html`Tag breakdowns are locked to <strong>${locked.join(', ')}</strong>.` : ''}
      </p>
      ${filtersForm({ orgs, org, products: products.map((p) => p.usage_type), product, tag: query.tag, zone })}
      ${
        um && month
          ? html`${statusFacts({ month, status: um.status, through: um.data_complete_through, estimate, zone })}
              <section aria-labelledby="mtd-h">
                <h2 id="mtd-h">${um.status === 'month_to_date' ? 'Month to date' : monthName(month)}</h2>
                ${monthTable(products, estimate, share, scope.currency)}
              </section>`
          : html`<p>No usage has arrived for this organization yet.</p>`
      }
      <section aria-labelledby="daily-h">
        <h2 id="daily-h">The last ${DAILY_DAYS} days</h2>
        ${dailyFigure(days, from, DAILY_DAYS)}
      </section>
      <section aria-labelledby="history-h">
        <h2 id="history-h">Six months</h2>
        ${history}
      </section>
      <section aria-labelledby="tags-h">
        <h2 id="tags-h">Top tag combinations${product ? html` of ${product}` : ''}</h2>
        ${tags && month ? tagsTable(tags, { month, filters }) : html`<p>No usage to break down yet.</p>`}
      </section>`,
  };
}

const firstUsed = (ps: readonly { usage_type: string; usage: string }[]) =>
  ps.find((p) => !/^0(\.0*)?$/.test(p.usage))?.usage_type ?? ps[0]?.usage_type;

function zoneQ(v: string | undefined, fallback: string): string {
  if (v === undefined || v === '') return fallback;
  try {
    new Intl.DateTimeFormat('en', { timeZone: v });
    return v;
  } catch {
    throw badParam('tz', `"${v}" is not a time zone; give an IANA name such as Europe/Paris or UTC`);
  }
}

function tagQ(v: string | undefined): Record<string, string> {
  if (v === undefined || v === '') return {};
  const m = /^([^:\s]+):(.+)$/.exec(v.trim());
  if (!m) throw badParam('tag', `"${v}" is not key:value, e.g. env:prod`);
  return { [m[1] as string]: (m[2] as string).trim() };
}

function productQ(v: string | undefined, known: readonly string[]): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (!known.includes(v)) throw badParam('product', `"${v}" is not one of ${known.join(', ')}`);
  return v;
}
