import { z } from 'zod';
import { parseNonNegativeDecimal, plainNumberText } from './decimal';
import { isManagedRole, PERMISSION_NAMES } from './access';
import { normalizeTag } from './tags';
import { parseDurationHours } from './time';

/** The declarative account spec (`orgtally account apply`). Unknown fields are errors, never ignored. */

const decimal = z
  .union([z.string(), z.number()])
  .transform((v) => (typeof v === 'number' ? plainNumberText(v) : v.trim()))
  .refine((v) => /^(\d+(\.\d+)?|\.\d+)$/.test(v), 'must be a non-negative decimal, e.g. "31.00"')
  .refine(
    (v) => !/^(\d+(\.\d+)?|\.\d+)$/.test(v) || parseNonNegativeDecimal(v).ok,
    'must fit the billing scale: at most 18 digits before the point and 12 after',
  );

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be lower-case letters, digits, _ . - (max 63)');
// One address per recipient: no list separators, quotes, spaces or display names ("ops,cfo@evil.example" is two
// addresses to a mail server, so it is refused here rather than sent to both).
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** One address, as the spec's recipients and users must be. */
export const isEmail = (v: string): boolean => v.length <= 254 && EMAIL.test(v);
const email = z
  .string()
  .max(254, 'an e-mail address has at most 254 characters')
  .regex(EMAIL, 'must be one e-mail address, e.g. "finance@example.com"');
/** At most a year: durations are windows (lateness, renotify), not dates. */
const MAX_DURATION_HOURS = 366 * 24;
const duration = z.string().refine((v) => {
  const h = parseDurationHours(v);
  return h !== undefined && h <= MAX_DURATION_HOURS;
}, 'must be a duration like "72h" or "3d", at most 366d');
/**
 * The month-end close runs on day ⌈lateness / 24⌉ + 1 of the next month, which every month must have (the 28th).
 */
export const MAX_LATENESS_HOURS = 27 * 24;
const lateness = duration.refine(
  (v) => (parseDurationHours(v) ?? 0) <= MAX_LATENESS_HOURS,
  `must be at most ${MAX_LATENESS_HOURS}h (27d): the month-end close runs the day after the window, by the 28th`,
);
// Checked by ICU here (the calendar module uses it); `account apply` checks the same name against Postgres too.
const timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone, e.g. "UTC" or "Europe/Paris"');
// ISO 4217 as this Node's ICU knows it (Intl.supportedValuesOf: the 162 codes in use, no XAU/XTS/XXX); upper case.
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const currency = z
  .string()
  .refine((c) => CURRENCIES.has(c), 'must be an ISO 4217 currency code in capitals, e.g. "USD" or "EUR"');

const scope = z.strictObject({
  org: z.string().optional(),
  product: z.string().optional(),
  tags: z.array(z.string()).optional(),
});
const alertBase = {
  id,
  scope: scope.default({}),
  recipients: z.array(email).min(1),
  renotify: duration.optional(),
};
const AlertRule = z.discriminatedUnion('kind', [
  z.strictObject({
    ...alertBase,
    kind: z.literal('threshold'),
    measure: z.enum(['mtd', 'projected']).default('mtd'),
    above: decimal.optional(),
    percent_of_included: z.number().positive().optional(),
  }),
  z.strictObject({
    ...alertBase,
    kind: z.literal('spike'),
    change_percent: z.number().positive(),
    min_units: decimal,
  }),
  z.strictObject({
    ...alertBase,
    kind: z.literal('drop'),
    change_percent: z.number().positive(),
    min_units: decimal,
  }),
  z.strictObject({ ...alertBase, kind: z.literal('stall') }),
]);

export const AccountSpecSchema = z.strictObject({
  account: z.strictObject({
    id,
    name: z.string().min(1),
    timezone: timezone.default('UTC'),
    /** Every amount of the account is in this currency: prices in, costs out. */
    currency: currency.default('USD'),
    lateness: lateness.default('72h'),
    /** The p99 rank rule: drop the top floor(p % × hours of the month) hours, take the next (default 1 %). */
    p99_drop_percent: decimal.refine((v) => Number(v) < 100, 'must be below 100').default('1'),
  }),
  orgs: z
    .array(
      z.strictObject({
        id,
        name: z.string().min(1),
        parent: id.optional(),
        billable: z.boolean().default(true),
        /** Receives the org's own month-end statement, once per version. */
        billing_contact: email.optional(),
      }),
    )
    .min(1),
  products: z.array(
    z.strictObject({
      code: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be snake_case, e.g. "infra_hosts"'),
      unit: z.string().min(1),
      aggregation: z.enum(['sum', 'avg', 'max', 'p99', 'last']),
      allotment: z.strictObject({ per: z.string(), quantity: decimal }).optional(),
      /** `hourly`: the allotment is granted hour by hour (monthly × 12 / 8 760); unused hours are lost. */
      on_demand: z.enum(['monthly', 'hourly']).default('monthly'),
    }),
  ),
  commitments: z
    .array(
      z.strictObject({
        product: z.string(),
        quantity: decimal,
        committed_price: decimal,
        on_demand_price: decimal,
      }),
    )
    .default([]),
  attribution: z
    .strictObject({
      tag_keys: z.array(z.string()).max(10, 'at most 10 tag keys'),
      effective_from: z.iso.date().optional(),
    })
    .default({ tag_keys: [] }),
  finance: z.strictObject({ recipients: z.array(email) }).default({ recipients: [] }),
  alerts: z.array(AlertRule).default([]),
  /** Absent: users and roles are left as the CLI made them. Present: they are made to match it exactly. */
  access: z
    .strictObject({
      roles: z
        .array(
          z.strictObject({
            name: id,
            permissions: z.array(
              z.enum(PERMISSION_NAMES, { error: `must be one of ${PERMISSION_NAMES.join(', ')}` }),
            ),
          }),
        )
        .default([]),
      users: z
        .array(z.strictObject({ email, org: id, roles: z.array(z.string()).min(1, 'a user needs a role') }))
        .default([]),
    })
    .optional(),
});

export type AccountSpec = z.infer<typeof AccountSpecSchema>;
export type AlertRuleSpec = z.infer<typeof AlertRule>;

export interface SpecIssue {
  path: string;
  message: string;
}

function jsonPath(path: readonly PropertyKey[]): string {
  return '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** Validates shape and cross-references; returns every problem at once, each with its JSON path. */
export function validateSpec(
  input: unknown,
): { ok: true; spec: AccountSpec } | { ok: false; issues: SpecIssue[] } {
  const parsed = AccountSpecSchema.safeParse(input);
  const issues: SpecIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));
  // Cross-references are checked even when the shape is wrong, so that every problem is reported at once.
  crossCheck(parsed.success ? parsed.data : looseView(input), issues);
  return parsed.success && issues.length === 0 ? { ok: true, spec: parsed.data } : { ok: false, issues };
}

/** The parts of an invalid spec that cross-checks can still read; what is unreadable is reported by the schema. */
function looseView(input: unknown): AccountSpec {
  const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
  const arr = <T>(v: unknown): T[] =>
    Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as T[]) : [];
  const o = obj(input);
  const keys = obj(o.attribution).tag_keys;
  return {
    account: {
      id: String(obj(o.account).id ?? ''),
      name: '',
      timezone: 'UTC',
      currency: 'USD',
      lateness: '72h',
      p99_drop_percent: '1',
    },
    orgs: arr(o.orgs),
    products: arr(o.products),
    commitments: arr(o.commitments),
    attribution: {
      tag_keys: Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [],
    },
    finance: { recipients: [] },
    alerts: arr<AlertRuleSpec>(o.alerts).map((a) => ({ ...a, scope: obj(a.scope) })),
    access:
      o.access && typeof o.access === 'object'
        ? { roles: arr(obj(o.access).roles), users: arr(obj(o.access).users) }
        : undefined,
  } as AccountSpec;
}

function crossCheck(spec: AccountSpec, issues: SpecIssue[]): void {
  const add = (path: string, message: string) => issues.push({ path, message });

  const orgIds = new Map<string, number>();
  spec.orgs.forEach((o, i) => {
    if (orgIds.has(o.id)) add(`$.orgs[${i}].id`, `duplicate org id "${o.id}"`);
    orgIds.set(o.id, i);
  });
  spec.orgs.forEach((o, i) => {
    if (o.id === spec.account.id) {
      if (o.parent !== undefined)
        add(`$.orgs[${i}].parent`, 'the parent org (id = account id) has no parent');
    } else if (o.parent === undefined) {
      add(
        `$.orgs[${i}].parent`,
        `org "${o.id}" needs a parent (the account's own org is "${spec.account.id}")`,
      );
    } else if (!orgIds.has(o.parent)) {
      add(`$.orgs[${i}].parent`, `unknown parent org "${o.parent}"`);
    }
  });
  if (!orgIds.has(spec.account.id))
    add('$.orgs', `the parent org "${spec.account.id}" (id = account id) is missing`);
  // Every chain of parents must reach the root: no cycles.
  const byId = new Map(spec.orgs.map((o) => [o.id, o]));
  spec.orgs.forEach((o, i) => {
    const seen = new Set<string>();
    let cur: string | undefined = o.id;
    while (cur !== undefined && byId.has(cur)) {
      if (seen.has(cur)) {
        add(`$.orgs[${i}].parent`, `org "${o.id}" is in a parent cycle`);
        break;
      }
      seen.add(cur);
      cur = byId.get(cur)?.parent;
    }
  });

  const codes = new Set<string>();
  spec.products.forEach((p, i) => {
    if (codes.has(p.code)) add(`$.products[${i}].code`, `duplicate product "${p.code}"`);
    codes.add(p.code);
  });
  spec.products.forEach((p, i) => {
    if (p.allotment && !codes.has(p.allotment.per))
      add(`$.products[${i}].allotment.per`, `unknown product "${p.allotment.per}"`);
    if (p.allotment?.per === p.code)
      add(`$.products[${i}].allotment.per`, 'a product cannot grant its own allotment');
    if (p.on_demand === 'hourly' && p.aggregation !== 'sum')
      add(`$.products[${i}].on_demand`, 'hourly on-demand applies only to products aggregated by sum');
  });
  const committed = new Set<string>();
  spec.commitments.forEach((c, i) => {
    if (!codes.has(c.product)) add(`$.commitments[${i}].product`, `unknown product "${c.product}"`);
    if (committed.has(c.product))
      add(`$.commitments[${i}].product`, `duplicate commitment for "${c.product}"`);
    committed.add(c.product);
  });

  const keys = new Set<string>();
  spec.attribution.tag_keys.forEach((k, i) => {
    const n = normalizeTag(k);
    const key = n.ok ? n.tag.slice(0, -1) : undefined;
    if (!n.ok || key !== k || k.includes(':')) {
      add(
        `$.attribution.tag_keys[${i}]`,
        `"${k}" is not a normalized tag key (lower-case, starts with a letter, no ":")`,
      );
    } else if (k.includes('/')) {
      // A tag key names a monthly file (summary_<key>_<month>.tsv): "/" would be a directory.
      add(`$.attribution.tag_keys[${i}]`, `"${k}": a tag key used for attribution cannot contain "/"`);
    }
    if (keys.has(k)) add(`$.attribution.tag_keys[${i}]`, `duplicate tag key "${k}"`);
    keys.add(k);
  });

  const ruleIds = new Set<string>();
  spec.alerts.forEach((a, i) => {
    if (ruleIds.has(a.id)) add(`$.alerts[${i}].id`, `duplicate alert rule id "${a.id}"`);
    ruleIds.add(a.id);
    if (a.scope.org !== undefined && !orgIds.has(a.scope.org))
      add(`$.alerts[${i}].scope.org`, `unknown org "${a.scope.org}"`);
    if (a.scope.product !== undefined && !codes.has(a.scope.product)) {
      add(`$.alerts[${i}].scope.product`, `unknown product "${a.scope.product}"`);
    }
    if (a.kind === 'threshold' && (a.above === undefined) === (a.percent_of_included === undefined)) {
      add(`$.alerts[${i}]`, 'a threshold rule needs exactly one of "above" or "percent_of_included"');
    }
    // Usage of different products has different units: a threshold is about one product.
    if (a.kind === 'threshold' && a.scope.product === undefined)
      add(`$.alerts[${i}].scope.product`, 'a threshold rule needs a product (usage of one unit)');
    // The included quantity is the account's (commitment + allotment): only an account-wide rule has one.
    if (
      a.kind === 'threshold' &&
      a.percent_of_included !== undefined &&
      (a.scope.org !== undefined || (a.scope.tags ?? []).length > 0)
    )
      add(`$.alerts[${i}].scope`, '"percent_of_included" is for the whole account: no org or tags in scope');
    if (a.kind === 'stall' && (a.scope.tags ?? []).length > 0)
      add(`$.alerts[${i}].scope.tags`, 'a stall rule watches whole orgs or products: no tags');
    // The same normalization the hourly evaluation applies: a tag it cannot read is refused now, not every hour.
    (Array.isArray(a.scope.tags) ? a.scope.tags : []).forEach((t, j) => {
      const n = typeof t === 'string' ? normalizeTag(t) : { ok: false as const, detail: 'not a string' };
      if (!n.ok) add(`$.alerts[${i}].scope.tags[${j}]`, `tag "${String(t)}": ${n.detail}`);
    });
  });
  checkAccess(spec, orgIds, add);
}

function checkAccess(
  spec: AccountSpec,
  orgIds: ReadonlyMap<string, number>,
  add: (path: string, message: string) => void,
): void {
  const access = spec.access;
  if (!access || typeof access !== 'object') return;
  const roles = new Set<string>();
  (Array.isArray(access.roles) ? access.roles : []).forEach((r, i) => {
    if (isManagedRole(r.name))
      add(`$.access.roles[${i}].name`, `"${r.name}" is a managed role: pick another name`);
    if (roles.has(r.name)) add(`$.access.roles[${i}].name`, `duplicate role "${r.name}"`);
    roles.add(r.name);
  });
  const emails = new Set<string>();
  (Array.isArray(access.users) ? access.users : []).forEach((u, i) => {
    const email = String(u.email).toLowerCase();
    if (emails.has(email)) add(`$.access.users[${i}].email`, `duplicate user "${email}"`);
    emails.add(email);
    if (!orgIds.has(u.org)) add(`$.access.users[${i}].org`, `unknown org "${u.org}"`);
    (Array.isArray(u.roles) ? u.roles : []).forEach((r, j) => {
      if (!isManagedRole(r) && !roles.has(r))
        add(
          `$.access.users[${i}].roles[${j}]`,
          `unknown role "${r}" (admin, standard, read_only or one of $.access.roles)`,
        );
    });
  });
}
