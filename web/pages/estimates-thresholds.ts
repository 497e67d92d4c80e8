import type { ThresholdRuleSpec } from '../../db/console-estimates';
import { plainNumberText } from '../../domain/decimal';
import { dec, mul, text } from '../../domain/exact';
import type { Scope } from '../../queries/scope';

/**
 * The threshold rules drawn over a product's chart, with the limit each sets. An account rule (no org) is
 * drawn on the account's chart only, and seen only from the root org; an org rule on that org's chart. A
 * `percent_of_included` limit is p % of the account's included quantity, which is billing: without it in
 * view, the rule is listed without a line.
 */
export interface Threshold {
  id: string;
  measure: 'mtd' | 'projected';
  /** What the rule says, in words: "above 40 host", "≥ 80 % of included". */
  rule: string;
  /** The limit as a quantity; null when it cannot be shown. */
  limit: string | null;
  /** `percent_of_included` fires at the limit, `above` only past it (domain/alerts.ts). */
  inclusive: boolean;
  tags: string[];
}

export function visibleRule(scope: Scope, r: ThresholdRuleSpec): boolean {
  const org = r.scope.org;
  return org === undefined ? scope.parentLevel : scope.orgs.has(org);
}

export function thresholdsOf(
  rules: readonly ThresholdRuleSpec[],
  q: { product: string; org: string | undefined; unit: string; included: string | null },
): Threshold[] {
  return rules
    .filter((r) => r.scope.product === q.product && r.scope.org === q.org)
    .map((r) => {
      const base = { id: r.id, measure: r.measure, tags: r.scope.tags ?? [] };
      if (r.above !== undefined)
        return { ...base, rule: `above ${r.above} ${q.unit}`.trim(), limit: r.above, inclusive: false };
      const p = dec(plainNumberText(r.percent_of_included as number));
      const included = q.included;
      return {
        ...base,
        rule: `≥ ${text(p)} % of included`,
        inclusive: true,
        // p × included / 100, exact
        limit: included === null ? null : text({ n: mul(p, dec(included)).n, s: p.s + dec(included).s + 2 }),
      };
    });
}
