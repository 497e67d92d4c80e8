import type { ConsoleMonth } from '../db/console-reads';
import type { Scope } from '../queries/scope';
import { monthName, when } from './format';
import { html, type Html } from './html';

/** Pieces more than one page uses: the month picker, the status badge, the org tree of a scope. */

export function monthOptions(months: readonly ConsoleMonth[], selected: string): Html {
  const list = months.some((m) => m.month === selected) ? months : [{ month: selected }, ...months];
  return html`${list.map(
    (m) =>
      html`<option value="${m.month}" ${m.month === selected ? html`selected` : ''}>
        ${monthName(m.month)}${m.version === undefined ? ' (to date)' : ` (v${m.version}, ${m.status})`}
      </option>`,
  )}`;
}

export function statusBadge(status: string): Html {
  const label: Record<string, string> = {
    final: 'final',
    provisional: 'provisional',
    month_to_date: 'month to date',
    not_closed: 'not closed yet',
    restated: 'restated',
  };
  return html`<span class="status-${status}">${label[status] ?? status}</span>`;
}

export interface TreeOrg {
  public_id: string;
  name: string;
  depth: number;
}

/**
 * The orgs of `root`'s subtree that the scope sees, parents before children (depth-first, by id), with their
 * depth below `root`.
 */
export function orgTreeOf(
  tree: readonly { public_id: string; name: string; parent: string | null }[],
  scope: Scope,
  root: string,
): TreeOrg[] {
  const children = new Map<string, string[]>();
  for (const o of tree)
    if (o.parent !== null) children.set(o.parent, [...(children.get(o.parent) ?? []), o.public_id]);
  const name = new Map(tree.map((o) => [o.public_id, o.name]));
  const out: TreeOrg[] = [];
  const walk = (id: string, depth: number) => {
    if (!scope.orgs.has(id)) return;
    out.push({ public_id: id, name: name.get(id) ?? id, depth });
    for (const c of [...(children.get(id) ?? [])].sort()) walk(c, depth + 1);
  };
  walk(root, 0);
  return out;
}

/** A table that scrolls sideways on a narrow screen instead of breaking the page. */
export const wrap = (table: Html): Html => html`<div class="table-wrap">${table}</div>`;

/** The facts at the top of a month's page: the month, where its figures stand, and the page's own figures. */
export function monthFacts(
  f: { month: string; status: string; data_complete_through: string },
  extra: readonly { label: string; value: string; id?: string }[],
): Html {
  const fact = (label: string, value: Html | string, id?: string) =>
    html`<div>
      <dt>${label}</dt>
      <dd ${id ? html`id="${id}"` : ''}>${value}</dd>
    </div>`;
  return html`<dl class="facts">
    ${fact('Month', monthName(f.month))} ${fact('Status', statusBadge(f.status))}
    ${fact('Data complete through', when(f.data_complete_through))}
    ${extra.map((e) => fact(e.label, e.value, e.id))}
  </dl>`;
}
