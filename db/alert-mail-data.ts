import type { Knex } from 'knex';
import type { AlertMailInput } from '../domain/alert-mail';
import type { AlertRuleSpec } from '../domain/spec';
import { names } from './alert-inputs';
import { changeSeries, ruleForScope, thresholdSeries } from './alert-mail-series';
import { getAlertEvent, type AlertEventRow } from './alert-reads';

/**
 * Everything the mail of one alert notice shows, read for its event row: the names of the account, org and
 * product, the account's currency, the product's price (commitments), the account's estimate at the notice's
 * hour (threshold) and the series to draw. No clock, ordered reads: the same rows give the same mail.
 */

interface Details {
  rule: AlertRuleSpec;
  scope?: { org?: string; product?: string; tags?: string[] };
  evaluation?: Record<string, unknown>;
  dataCompleteThrough?: string;
  timezone?: string;
  latenessHours?: number;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function alertMailData(
  db: Knex,
  eventId: string,
): Promise<{ event: AlertEventRow; input: AlertMailInput }> {
  const event = await getAlertEvent(db, eventId);
  const d = event.details as unknown as Details;
  const scope = d.scope ?? {};
  const evaluation = d.evaluation ?? {};
  const accountId = event.account_id;
  // One snapshot for every read (repeatable read); the series' temp tables drop at commit.
  const input = await db.transaction(
    async (trx): Promise<AlertMailInput> => {
      await trx.raw('SET LOCAL jit = off');
      const account = await trx('accounts')
        .where({ id: accountId })
        .first('name', 'timezone', 'currency', 'lateness_hours');
      const org = scope.org
        ? await trx('orgs').where({ account_id: accountId, public_id: scope.org }).first('name')
        : undefined;
      const product = scope.product
        ? await trx('products')
            .where({ account_id: accountId, code: scope.product })
            .first('code', 'unit', 'aggregation')
        : undefined;
      const price = product
        ? await trx('commitments')
            .where({ account_id: accountId, product_code: product.code })
            .first(
              trx.raw('committed_price::text AS committed_price'),
              trx.raw('on_demand_price::text AS on_demand_price'),
            )
        : undefined;
      const out: AlertMailInput = {
        ruleId: event.rule_id,
        kind: event.kind,
        notify: event.notify,
        window: event.window,
        asOf: event.as_of.toISOString(),
        message: event.message,
        account: {
          name: account?.name ?? accountId,
          timezone: d.timezone ?? account?.timezone ?? 'UTC',
          currency: account?.currency ?? 'USD',
          latenessHours: d.latenessHours ?? account?.lateness_hours ?? 72,
        },
        ...(org ? { orgName: org.name as string } : scope.org ? { orgName: scope.org } : {}),
        ...(product ? { product } : {}),
        tags: scope.tags ?? [],
        rule: d.rule as unknown as Record<string, unknown>,
        evaluation,
        ...(d.dataCompleteThrough ? { dataCompleteThrough: d.dataCompleteThrough } : {}),
        price: price ?? null,
      };
      if (!product || !d.rule) return out;
      const rule = ruleForScope(d.rule, scope);
      if (event.kind === 'threshold') {
        const t = await trx('estimate_totals')
          .where({ account_id: accountId, as_of: event.as_of, usage_type: product.code })
          .first(
            trx.raw('projected_billable::text AS "projectedBillable"'),
            trx.raw('included_usage::text AS included'),
          );
        out.estimate = t ?? null;
        out.month = await thresholdSeries(trx, accountId, event.as_of, rule, await names(trx, accountId));
      } else if (event.kind === 'spike' || event.kind === 'drop') {
        const w = typeof evaluation.window === 'string' ? evaluation.window : event.window;
        if (DAY.test(w))
          out.days = await changeSeries(trx, accountId, event.as_of, w, rule, await names(trx, accountId));
      }
      return out;
    },
    { isolationLevel: 'repeatable read' },
  );
  return { event, input };
}
