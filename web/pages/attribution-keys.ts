import type { Knex } from 'knex';
import { currentSpec } from '../../db/account-spec';
import { applyAccountSpec } from '../../db/accounts';
import {
  accountZone,
  tagKeyHistory,
  tagKeyRestatement,
  type RestatedMonth,
  type TagKeyEntry,
} from '../../db/console-attribution';
import { financeRecipients } from '../../db/overview';
import { denial, USAGE_EDIT } from '../../domain/access';
import { isDay } from '../../domain/attribution';
import { dayInZone } from '../../domain/calendar';
import { ErrorType, OrgtallyError } from '../../domain/errors';
import { validateSpec, type AccountSpec } from '../../domain/spec';
import { html, type Html } from '../html';
import { csrfField, refusal } from '../layout';
import type { PageCtx } from '../page';
import { wrap } from '../widgets';
import { keyList, previewPanel, shownDay } from './attribution-preview';

/**
 * The tag keys of the account: the lists in effect and since when, and the form that changes them. A change is
 * the account's spec with its `attribution` section replaced, validated and applied as `account apply` and the
 * API's PUT tag-keys do (one path, one audit row); the preview is the same apply as a dry run, plus what the
 * change would restate.
 */

export interface TagKeyChange {
  keysText: string;
  /** As typed (empty: today in the account's zone, as the API defaults it). */
  effectiveText: string;
  keys: string[];
  /** The day the change takes effect, resolved as applyAccountSpec resolves it. */
  from: string;
  spec: AccountSpec;
}

export interface TagKeyPreview {
  change: TagKeyChange;
  changes: string[];
  months: RestatedMonth[];
  recipients: string[];
}

const invalid = (message: string) => new OrgtallyError(ErrorType.InvalidInput, message);

export const parseKeys = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

/** The spec's paths, as the form's labels name them. */
function fieldOf(path: string): string {
  const k = /^\$\.attribution\.tag_keys\[(\d+)\]$/.exec(path);
  if (k) return `Tag key ${Number(k[1]) + 1}`;
  if (path === '$.attribution.effective_from') return 'Effective from';
  if (path === '$.attribution.tag_keys') return 'Tag keys';
  return path;
}

/** The form's values as a change: refused (InvalidInput, shown beside the form) as the API refuses them. */
export async function readChange(
  db: Knex,
  accountId: string,
  now: number,
  form: Record<string, string>,
): Promise<TagKeyChange> {
  const keysText = (form.tag_keys ?? '').trim();
  const effectiveText = (form.effective_from ?? '').trim();
  if (effectiveText !== '' && !isDay(effectiveText))
    throw invalid(`Effective from: "${effectiveText}" is not a day; give it as YYYY-MM-DD, e.g. 2026-12-01`);
  const keys = parseKeys(keysText);
  const attribution =
    effectiveText === '' ? { tag_keys: keys } : { tag_keys: keys, effective_from: effectiveText };
  const v = validateSpec({ ...(await currentSpec(db, accountId, now)), attribution });
  if (!v.ok) throw invalid(v.issues.map((i) => `${fieldOf(i.path)}: ${i.message}`).join('; '));
  const any = await db('attribution_tag_keys').where({ account_id: accountId }).first('effective_from');
  const from =
    effectiveText !== ''
      ? effectiveText
      : any
        ? dayInZone(now, await accountZone(db, accountId))
        : '1970-01-01';
  return { keysText, effectiveText, keys, from, spec: v.spec };
}

export async function previewChange(ctx: PageCtx, change: TagKeyChange): Promise<TagKeyPreview> {
  const { db, scope } = ctx;
  // A dry run makes every check and write of the real apply, then rolls back: its list is what Save would do.
  const r = await applyAccountSpec(db, change.spec, { asOfMs: ctx.now, dryRun: true, actor: scope.actor });
  const months = r.changes.length
    ? await tagKeyRestatement(db, { accountId: scope.accountId, from: change.from, keys: change.keys })
    : [];
  return { change, changes: r.changes, months, recipients: await financeRecipients(db, scope.accountId) };
}

export async function saveChange(ctx: PageCtx, change: TagKeyChange): Promise<string[]> {
  const r = await applyAccountSpec(ctx.db, change.spec, { asOfMs: ctx.now, actor: ctx.scope.actor });
  return r.changes;
}

export async function tagKeysSection(ctx: PageCtx, preview?: TagKeyPreview): Promise<Html> {
  const { db, scope } = ctx;
  const history = await tagKeyHistory(db, scope.accountId);
  const today = dayInZone(ctx.now, await accountZone(db, scope.accountId));
  const current = [...history].reverse().find((h) => h.effective_from <= today);
  const canEdit = !denial(scope, USAGE_EDIT);
  return html`<h2 id="tag-keys">Tag keys</h2>
    <p>
      Usage is split by these tag keys, day by day, with the list in effect on each day.
      ${
        current
          ? html`In effect today: ${keyList(current.tag_keys)}, since ${shownDay(current.effective_from)}.`
          : html`No tag keys are in effect today: usage is not split by tag.`
      }
    </p>
    ${historyTable(history, current)} ${canEdit ? changeForm(ctx, current, today, preview) : ''}`;
}

function historyTable(history: readonly TagKeyEntry[], current: TagKeyEntry | undefined): Html {
  if (!history.length) return html`<p>No tag keys were ever set.</p>`;
  return wrap(
    html`<table id="tag-key-history">
      <caption>
        Tag keys and the day each list took effect
      </caption>
      <thead>
        <tr>
          <th scope="col">Effective from</th>
          <th scope="col">Tag keys</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        ${history.map(
          (h) =>
            html`<tr>
              <th scope="row">${shownDay(h.effective_from)}</th>
              <td>${keyList(h.tag_keys)}</td>
              <td>
                ${
                  h === current
                    ? 'in effect'
                    : current && h.effective_from < current.effective_from
                      ? html`<span class="muted">earlier</span>`
                      : 'scheduled'
                }
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`,
  );
}

function changeForm(
  ctx: PageCtx,
  current: TagKeyEntry | undefined,
  today: string,
  preview: TagKeyPreview | undefined,
): Html {
  const refused = ctx.refused;
  const keys = refused
    ? (refused.form.tag_keys ?? '')
    : (preview?.change.keysText ?? (current?.tag_keys ?? []).join(', '));
  const from = refused ? (refused.form.effective_from ?? '') : (preview?.change.effectiveText ?? today);
  return html`<h3 id="change-keys">Change or add tag keys</h3>
    ${refusal(refused?.error)} ${preview ? previewPanel(ctx, preview) : ''}
    <form method="post" action="/attribution/tag-keys" class="panel">
      ${csrfField(ctx.csrf)}
      <div class="field">
        <label for="tag_keys">Tag keys</label>
        <span class="hint" id="tag_keys-hint"
          >Separated by commas, in column order, at most 10: lower-case, starting with a letter, no ":" or
          "/". Leave empty to stop splitting by tag.</span
        >
        <input type="text" id="tag_keys" name="tag_keys" value="${keys}" aria-describedby="tag_keys-hint" />
      </div>
      <div class="field">
        <label for="effective_from">Effective from</label>
        <span class="hint" id="effective_from-hint"
          >The first day (YYYY-MM-DD, in the account's time zone) the new list applies to; earlier days keep
          theirs. Empty: today.</span
        >
        <input
          type="date"
          id="effective_from"
          name="effective_from"
          value="${from}"
          aria-describedby="effective_from-hint"
        />
      </div>
      <button type="submit" name="intent" value="preview">Preview</button>
    </form>`;
}
