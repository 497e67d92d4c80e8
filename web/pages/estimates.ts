import { orgTree } from '../../db/accounts';
import {
  accountEstimateSeries,
  estimateMonths,
  orgEstimateSeries,
  thresholdRules,
  type SeriesPoint,
  type ThresholdRuleSpec,
} from '../../db/console-estimates';
import { consoleMonths } from '../../db/console-reads';
import { estimateErrors } from '../../db/estimate-reads';
import { ALERTS_READ, denial, USAGE_READ } from '../../domain/access';
import { dec, isZero } from '../../domain/exact';
import { requireOrg, type Scope } from '../../queries/scope';
import { monthName } from '../format';
import { html, type Html } from '../html';
import type { Action, Page, PageCtx } from '../page';
import { monthQ } from '../params';
import { orgTreeOf, type TreeOrg } from '../widgets';
import { productFigure } from './estimates-chart';
import { errorsBlock } from './estimates-errors';
import { thresholdsOf, visibleRule } from './estimates-thresholds';

/**
 * Estimated usage: per product, how the month-to-date and projected usage moved over the month's stored
 * estimates, against the included quantity and the alert thresholds; then how far the estimates of the last
 * closed month were from its close. The account's figures (billable usage, every run) are the root org's; any
 * other org is shown alone (its own usage, the day's last run), as its alert rules measure it.
 */
export const estimatesPage: Page = {
  path: '/estimates',
  nav: 'Estimates',
  need: USAGE_READ,
  async render(ctx) {
    const { db, scope, query } = ctx;
    const org = query.org || scope.org;
    requireOrg(scope, org);
    const wholeAccount = org === scope.accountId;
    const seesRules = denial(scope, ALERTS_READ) === undefined;
    const [months, tree, rules] = await Promise.all([
      estimateMonths(db, scope.accountId),
      orgTree(db, scope.accountId),
      seesRules ? thresholdRules(db, scope.accountId) : Promise.resolve([]),
    ]);
    const month = monthQ(query) ?? months[0];
    const orgs = orgTreeOf(tree, scope, scope.org);
    const name = scope.orgs.get(org) ?? org;
    const picker = filters(scope.accountId, orgs, months, month, org);
    const errors = scope.parentLevel ? await lastCloseErrors(ctx) : html``;
    if (month === undefined)
      return {
        title: 'Estimated usage',
        body: html`${picker}
          <p>No estimate is stored yet. The worker makes one every hour once usage arrives.</p>
          ${errors}`,
      };
    const points = wholeAccount
      ? await accountEstimateSeries(db, scope.accountId, month)
      : await orgEstimateSeries(db, scope.accountId, month, org);
    const body = productCharts(scope, {
      points,
      rules: rules.filter((r) => visibleRule(scope, r)),
      org: wholeAccount ? undefined : org,
      subject: wholeAccount ? 'the account, billable usage' : `${name} alone`,
    });
    return {
      title: wholeAccount ? 'Estimated usage' : `Estimated usage of ${name}`,
      body: html`${picker}
        <p class="hint">${explanation(scope, wholeAccount, name, seesRules)}</p>
        <h2>${monthName(month)}</h2>
        ${
          points.length
            ? body
            : months.includes(month)
              ? html`<p>
                  No estimate of ${monthName(month)} has figures for ${name}: it had no usage by then.
                </p>`
              : html`<p>No estimate of ${monthName(month)} is stored. Choose another month.</p>`
        }
        ${errors}`,
    };
  },
};

function explanation(scope: Scope, wholeAccount: boolean, name: string, seesRules: boolean): Html {
  const what = wholeAccount
    ? html`The account's billable usage (trial orgs left out), at every stored estimate; the table lists the
      last estimate of each day (UTC).
      ${
        scope.permissions.has('billing_read')
          ? html`Included: the commitment plus any allotment.`
          : html`The included quantity is billing: it is shown to users with billing_read.`
      }`
    : html`The usage of ${name} alone (not the orgs below it, which have their own view), at the last estimate
      of each day (UTC): org figures are kept for that run only. The included quantity is the account's and is
      not drawn here.`;
  return html`${what}
  ${
    seesRules
      ? html`Dotted lines: the alert thresholds on this usage.`
      : html`Alert thresholds are shown to users with usage_notifications_read.`
  }
  Projected: sums extrapolated over the month; averages, maxima and p99 as they stand so far.`;
}

function productCharts(
  scope: Scope,
  q: { points: SeriesPoint[]; rules: ThresholdRuleSpec[]; org: string | undefined; subject: string },
): Html {
  // The included quantity is billing (commitments): drawn for the account and users who may read billing.
  const showIncluded = q.org === undefined && scope.permissions.has('billing_read');
  const byProduct = new Map<string, SeriesPoint[]>();
  for (const p of q.points) byProduct.set(p.usage_type, [...(byProduct.get(p.usage_type) ?? []), p]);
  const charts = [...byProduct].map(([product, points]) => {
    const unit = points[0]?.unit ?? '';
    const included = showIncluded ? (points.at(-1)?.included ?? null) : null;
    return {
      product,
      unit,
      points,
      thresholds: thresholdsOf(q.rules, { product, org: q.org, unit, included }),
    };
  });
  // A product without usage and without a rule is a flat line at 0: named, not drawn.
  const unused = (c: (typeof charts)[number]) =>
    !c.thresholds.length && c.points.every((p) => isZero(dec(p.mtd)) && isZero(dec(p.projected)));
  const idle = charts.filter(unused).map((c) => c.product);
  return html`${charts
    .filter((c) => !unused(c))
    .map((c) =>
      productFigure({
        ...c,
        points: showIncluded ? c.points : c.points.map((p) => ({ ...p, included: null })),
        showIncluded,
        subject: q.subject,
      }),
    )}
  ${idle.length ? html`<p id="estimate-idle">No usage estimated this month: ${idle.join(', ')}.</p>` : ''}`;
}

/** The estimate error of the last closed month (account-level: the caller checked the root org). */
async function lastCloseErrors(ctx: PageCtx): Promise<Html> {
  const months = await consoleMonths(ctx.db, ctx.scope.accountId, new Date(ctx.now).toISOString());
  const last = months.find((m) => m.version !== undefined)?.month;
  const e = last === undefined ? undefined : await estimateErrors(ctx.db, ctx.scope.accountId, last);
  return html`<h2>Estimate error${last ? html` of ${monthName(last)}` : ''}</h2>
    ${errorsBlock(last, e)}`;
}

function filters(
  accountId: string,
  orgs: readonly TreeOrg[],
  months: readonly string[],
  month: string | undefined,
  org: string,
): Html {
  return html`<form method="get" action="/estimates" class="filters">
    <div>
      <label for="org">Organization</label>
      <select id="org" name="org">
        ${orgs.map(
          (o) =>
            html`<option value="${o.public_id}" ${o.public_id === org ? html`selected` : ''}>
              ${'— '.repeat(o.depth)}${o.name}${o.depth === 0 && o.public_id === accountId ? ' (the account)' : ''}
            </option>`,
        )}
      </select>
    </div>
    ${
      months.length
        ? html`<div>
            <label for="month">Month</label>
            <select id="month" name="month">
              ${(month !== undefined && !months.includes(month) ? [month, ...months] : months).map(
                (m) =>
                  html`<option value="${m}" ${m === month ? html`selected` : ''}>${monthName(m)}</option>`,
              )}
            </select>
          </div>`
        : ''
    }
    <button type="submit" class="secondary">Show</button>
  </form>`;
}

export const estimatesPages: Page[] = [estimatesPage];

export const estimatesActions: Action[] = [];
