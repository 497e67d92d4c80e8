import { currentSpec } from '../../db/account-spec';
import { applyAccountSpec } from '../../db/accounts';
import type { Requirement } from '../../domain/access';
import { ErrorType, OrgtallyError } from '../../domain/errors';
import { validateSpec } from '../../domain/spec';
import { href } from '../html';
import type { Action } from '../page';
import { issueText, rowsFromForm, rulesOf } from './alerts-rule-rows';

/**
 * Saving the rules replaces the spec's whole `alerts` section, rules about every org included: like the API's
 * PUT alert-rules, it is for the root org only — a child org's user would drop the rules it cannot see.
 */
export const RULES_WRITE: Requirement = { permissions: ['usage_notifications_write'], parentOnly: true };

const invalid = (m: string) => new OrgtallyError(ErrorType.InvalidInput, m);

export const saveRulesAction: Action = {
  path: '/alerts/rules',
  need: RULES_WRITE,
  back: '/alerts',
  async handle(ctx) {
    const rows = rowsFromForm(ctx.form);
    if (!rows)
      throw invalid('rules: the form did not say how many rules it holds; reload the page and try again');
    const { rules, labels } = rulesOf(rows);
    const changes = await ctx.db.transaction(async (trx) => {
      // The spec as it stands, with this section replaced: validated and audited as `account apply` is.
      const spec = { ...(await currentSpec(trx, ctx.scope.accountId, ctx.now)), alerts: rules };
      const v = validateSpec(spec);
      if (!v.ok) throw invalid(v.issues.map((i) => issueText(labels, i.path, i.message)).join('; '));
      return (await applyAccountSpec(trx, v.spec, { asOfMs: ctx.now, actor: ctx.scope.actor })).changes;
    });
    return { redirect: href('/alerts', { done: changes.length ? 'saved' : 'unchanged' }) };
  },
};
