/**
 * Who may see what: a caller of org O sees O and its descendants — never a sibling, never an ancestor — and
 * account-level figures (the account's totals, other orgs' shares) only from the account's root org. Pure rules;
 * queries/scope.ts applies them to an account's org tree.
 */
export interface OrgNode {
  public_id: string;
  parent: string | null;
}

/** `from` and every org below it. */
export function subtree(orgs: readonly OrgNode[], from: string): Set<string> {
  const children = new Map<string, string[]>();
  for (const o of orgs) {
    if (o.parent === null) continue;
    const list = children.get(o.parent);
    if (list) list.push(o.public_id);
    else children.set(o.parent, [o.public_id]);
  }
  const out = new Set<string>();
  const stack = orgs.some((o) => o.public_id === from) ? [from] : [];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (out.has(id)) continue; // a cycle cannot come from a valid spec; never loop on one
    out.add(id);
    stack.push(...(children.get(id) ?? []));
  }
  return out;
}
