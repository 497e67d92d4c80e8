import * as fs from 'fs';
import * as path from 'path';
import type { z } from 'zod';
import { validateSpec, type AccountSpecSchema, type SpecIssue } from '../../domain/spec';

type SpecInput = z.input<typeof AccountSpecSchema>;
type Loose = Record<string, unknown>;

const ACME = fs.readFileSync(path.join(__dirname, '../../examples/acme.json'), 'utf8');
/** A fresh, mutable copy of examples/acme.json. */
const acme = (): SpecInput => JSON.parse(ACME) as SpecInput;

function issuesOf(input: unknown): SpecIssue[] {
  const r = validateSpec(input);
  if (r.ok) throw new Error('expected the spec to be rejected');
  return r.issues;
}
const byPath = (a: SpecIssue, b: SpecIssue) =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : a.message < b.message ? -1 : 1;
/** The issues, order-independent. */
const sortedIssues = (input: unknown) => [...issuesOf(input)].sort(byPath);
const sorted = (issues: SpecIssue[]) => [...issues].sort(byPath);

const minimal = (): SpecInput => ({
  account: { id: 'solo', name: 'Solo' },
  orgs: [{ id: 'solo', name: 'Solo' }],
  products: [],
});

describe('validateSpec: valid specs', () => {
  it('accepts examples/acme.json and keeps its content', () => {
    const r = validateSpec(acme());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec.account).toEqual({
      id: 'acme',
      name: 'Acme MSP',
      timezone: 'UTC',
      currency: 'USD',
      lateness: '72h',
      p99_drop_percent: '1',
    });
    expect(r.spec.orgs.map((o) => o.id)).toEqual([
      'acme',
      'client-a',
      'client-a-eu',
      'client-b',
      'client-c',
      'trial-x',
    ]);
    expect(r.spec.orgs.map((o) => o.billable)).toEqual([true, true, true, true, true, false]);
    expect(r.spec.products).toHaveLength(10);
    expect(r.spec.attribution.tag_keys).toEqual(['team', 'env', 'service']);
  });

  it('turns quantities and prices into decimal strings', () => {
    const r = validateSpec(acme());
    if (!r.ok) throw new Error('acme.json should be valid');
    expect(r.spec.commitments[0]).toEqual({
      product: 'infra_hosts',
      quantity: '40',
      committed_price: '15.00',
      on_demand_price: '18.00',
    });
    expect(r.spec.products[3]?.allotment).toEqual({ per: 'apm_hosts', quantity: '150' });
  });

  it('fills the defaults of a minimal spec', () => {
    expect(validateSpec(minimal())).toEqual({
      ok: true,
      spec: {
        account: {
          id: 'solo',
          name: 'Solo',
          timezone: 'UTC',
          currency: 'USD',
          lateness: '72h',
          p99_drop_percent: '1',
        },
        orgs: [{ id: 'solo', name: 'Solo', billable: true }],
        products: [],
        commitments: [],
        attribution: { tag_keys: [] },
        finance: { recipients: [] },
        alerts: [],
      },
    });
  });

  it('fills alert defaults (measure mtd, empty scope)', () => {
    const s = acme();
    s.alerts = [
      {
        id: 'big',
        kind: 'threshold',
        above: '100',
        scope: { product: 'infra_hosts' },
        recipients: ['ops@acme.example'],
      },
      { id: 'quiet', kind: 'stall', recipients: ['ops@acme.example'] },
    ];
    const r = validateSpec(s);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.spec.alerts[0]).toEqual({
      id: 'big',
      kind: 'threshold',
      measure: 'mtd',
      above: '100',
      scope: { product: 'infra_hosts' },
      recipients: ['ops@acme.example'],
    });
    expect(r.spec.alerts[1]).toEqual({
      id: 'quiet',
      kind: 'stall',
      scope: {},
      recipients: ['ops@acme.example'],
    });
  });

  it('accepts exactly 10 tag keys and unicode letter keys', () => {
    const s = acme();
    s.attribution = { tag_keys: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'équipe'] };
    expect(validateSpec(s).ok).toBe(true);
  });
});

describe('validateSpec: shape errors', () => {
  it('rejects an unknown top-level field with path $', () => {
    const s = acme() as SpecInput & Loose;
    s.colour = 'blue';
    expect(issuesOf(s)).toEqual([{ path: '$', message: 'Unrecognized key: "colour"' }]);
  });

  it('rejects unknown nested fields with their JSON path', () => {
    const s = acme();
    (s.orgs[1] as Loose).color = 'x';
    (s.account as Loose).colour = 'USD';
    (s.commitments?.[2] as Loose).discount = '5';
    expect(sortedIssues(s)).toEqual([
      { path: '$.account', message: 'Unrecognized key: "colour"' },
      { path: '$.commitments[2]', message: 'Unrecognized key: "discount"' },
      { path: '$.orgs[1]', message: 'Unrecognized key: "color"' },
    ]);
  });

  it('rejects more than 10 tag keys', () => {
    const s = acme();
    s.attribution = { tag_keys: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'] };
    expect(issuesOf(s)).toEqual([{ path: '$.attribution.tag_keys', message: 'at most 10 tag keys' }]);
  });

  it('rejects bad ids, aggregations, decimals, durations, time zones and e-mails', () => {
    const s = acme();
    s.orgs[2]!.id = 'Client A EU';
    s.products[0]!.aggregation = 'median' as 'sum';
    s.commitments![0]!.quantity = '-5';
    s.account.lateness = '3 weeks';
    s.account.timezone = 'Mars/Olympus_Mons';
    s.finance = { recipients: ['not-an-email'] };
    const paths = issuesOf(s).map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '$.orgs[2].id',
        '$.products[0].aggregation',
        '$.commitments[0].quantity',
        '$.account.lateness',
        '$.account.timezone',
        '$.finance.recipients[0]',
      ]),
    );
  });

  it('requires orgs to be non-empty', () => {
    const s = acme();
    s.orgs = [];
    expect(issuesOf(s).map((i) => i.path)).toContain('$.orgs');
  });
});

describe('validateSpec: org tree', () => {
  it('rejects an unknown parent', () => {
    const s = acme();
    s.orgs[3]!.parent = 'nope';
    expect(issuesOf(s)).toEqual([{ path: '$.orgs[3].parent', message: 'unknown parent org "nope"' }]);
  });

  it('rejects a child org without parent', () => {
    const s = acme();
    delete s.orgs[4]!.parent;
    expect(issuesOf(s)).toEqual([
      {
        path: '$.orgs[4].parent',
        message: 'org "client-c" needs a parent (the account\'s own org is "acme")',
      },
    ]);
  });

  it('rejects a root org (id = account id) that has a parent', () => {
    const s = acme();
    s.orgs[0]!.parent = 'client-b'; // also closes the cycle acme → client-b → acme
    const issues = issuesOf(s);
    expect(issues).toContainEqual({
      path: '$.orgs[0].parent',
      message: 'the parent org (id = account id) has no parent',
    });
    expect(issues).toContainEqual({ path: '$.orgs[0].parent', message: 'org "acme" is in a parent cycle' });
    expect(issues).toContainEqual({
      path: '$.orgs[3].parent',
      message: 'org "client-b" is in a parent cycle',
    });
  });

  it('rejects a spec without the root org (id = account id)', () => {
    const s = acme();
    s.orgs.splice(0, 1); // remove "acme"; client-a, client-b, client-c, trial-x pointed at it
    expect(sortedIssues(s)).toEqual([
      { path: '$.orgs', message: 'the parent org "acme" (id = account id) is missing' },
      { path: '$.orgs[0].parent', message: 'unknown parent org "acme"' },
      { path: '$.orgs[2].parent', message: 'unknown parent org "acme"' },
      { path: '$.orgs[3].parent', message: 'unknown parent org "acme"' },
      { path: '$.orgs[4].parent', message: 'unknown parent org "acme"' },
    ]);
  });

  it('rejects a parent cycle, reporting every org in it', () => {
    const s = acme();
    s.orgs[1]!.parent = 'client-a-eu'; // client-a → client-a-eu → client-a
    expect(sortedIssues(s)).toEqual([
      { path: '$.orgs[1].parent', message: 'org "client-a" is in a parent cycle' },
      { path: '$.orgs[2].parent', message: 'org "client-a-eu" is in a parent cycle' },
    ]);
  });

  it('rejects an org that is its own parent', () => {
    const s = acme();
    s.orgs[3]!.parent = 'client-b';
    expect(issuesOf(s)).toEqual([
      { path: '$.orgs[3].parent', message: 'org "client-b" is in a parent cycle' },
    ]);
  });

  it('rejects duplicate org ids', () => {
    const s = acme();
    s.orgs.push({ id: 'client-b', name: 'Client B again', parent: 'acme' });
    expect(issuesOf(s)).toEqual([{ path: '$.orgs[6].id', message: 'duplicate org id "client-b"' }]);
  });
});

describe('validateSpec: products and commitments', () => {
  it('rejects duplicate product codes', () => {
    const s = acme();
    s.products.push({ code: 'infra_hosts', unit: 'host', aggregation: 'max' });
    expect(issuesOf(s)).toEqual([
      { path: '$.products[10].code', message: 'duplicate product "infra_hosts"' },
    ]);
  });

  it('rejects an allotment that refers to an unknown product', () => {
    const s = acme();
    s.products[3]!.allotment = { per: 'apm_hostz', quantity: 150 };
    expect(issuesOf(s)).toEqual([
      { path: '$.products[3].allotment.per', message: 'unknown product "apm_hostz"' },
    ]);
  });

  it('rejects an allotment of a product by itself', () => {
    const s = acme();
    s.products[3]!.allotment = { per: 'apm_ingested_bytes', quantity: 150 };
    expect(issuesOf(s)).toEqual([
      { path: '$.products[3].allotment.per', message: 'a product cannot grant its own allotment' },
    ]);
  });

  it('allows hourly on-demand only for products aggregated by sum', () => {
    const s = acme();
    (s.products[3] as Record<string, unknown>).on_demand = 'hourly';
    expect(validateSpec(s).ok).toBe(true);
    (s.products[0] as Record<string, unknown>).on_demand = 'hourly';
    expect(issuesOf(s)).toEqual([
      {
        path: '$.products[0].on_demand',
        message: 'hourly on-demand applies only to products aggregated by sum',
      },
    ]);
  });

  it('takes a p99 rank rule below 100 %', () => {
    const s = acme();
    (s.account as Record<string, unknown>).p99_drop_percent = 100;
    expect(issuesOf(s)).toEqual([{ path: '$.account.p99_drop_percent', message: 'must be below 100' }]);
    (s.account as Record<string, unknown>).p99_drop_percent = '0.5';
    expect(validateSpec(s).ok).toBe(true);
  });

  it('rejects a commitment for an unknown product', () => {
    const s = acme();
    s.commitments![1]!.product = 'nope';
    expect(issuesOf(s)).toEqual([{ path: '$.commitments[1].product', message: 'unknown product "nope"' }]);
  });

  it('rejects two commitments for the same product', () => {
    const s = acme();
    s.commitments!.push({ product: 'infra_hosts', quantity: 5, committed_price: 1, on_demand_price: 2 });
    expect(issuesOf(s)).toEqual([
      { path: '$.commitments[4].product', message: 'duplicate commitment for "infra_hosts"' },
    ]);
  });
});

describe('validateSpec: attribution tag keys', () => {
  const notNormalized = (i: number, k: string) => ({
    path: `$.attribution.tag_keys[${i}]`,
    message: `"${k}" is not a normalized tag key (lower-case, starts with a letter, no ":")`,
  });

  it('rejects keys that are not normalized, and duplicates', () => {
    const s = acme();
    s.attribution = { tag_keys: ['team', 'Env', '1svc', 'env:prod', 'my key', 'team', ''] };
    expect(sortedIssues(s)).toEqual(
      sorted([
        notNormalized(1, 'Env'),
        notNormalized(2, '1svc'),
        notNormalized(3, 'env:prod'),
        notNormalized(4, 'my key'),
        { path: '$.attribution.tag_keys[5]', message: 'duplicate tag key "team"' },
        notNormalized(6, ''),
      ]),
    );
  });
});

describe('validateSpec: alert rules', () => {
  const exactlyOne = 'a threshold rule needs exactly one of "above" or "percent_of_included"';

  it('rejects a threshold rule with both above and percent_of_included', () => {
    const s = acme();
    (s.alerts![0] as Loose).above = '50';
    expect(issuesOf(s)).toEqual([{ path: '$.alerts[0]', message: exactlyOne }]);
  });

  it('rejects a threshold rule with neither', () => {
    const s = acme();
    const i = s.alerts!.length;
    s.alerts!.push({
      id: 'vague',
      kind: 'threshold',
      scope: { product: 'infra_hosts' },
      recipients: ['ops@acme.example'],
    });
    expect(issuesOf(s)).toEqual([{ path: `$.alerts[${i}]`, message: exactlyOne }]);
  });

  it('a threshold is about one product; percent_of_included is account-wide; a stall has no tags', () => {
    const s = acme();
    const i = s.alerts!.length;
    s.alerts!.push(
      { id: 'no-product', kind: 'threshold', above: '1', recipients: ['ops@acme.example'] },
      {
        id: 'org-pct',
        kind: 'threshold',
        scope: { org: 'client-a', product: 'infra_hosts' },
        percent_of_included: 80,
        recipients: ['ops@acme.example'],
      },
      { id: 'tag-stall', kind: 'stall', scope: { tags: ['env:prod'] }, recipients: ['ops@acme.example'] },
    );
    expect(sortedIssues(s)).toEqual([
      {
        path: `$.alerts[${i}].scope.product`,
        message: 'a threshold rule needs a product (usage of one unit)',
      },
      {
        path: `$.alerts[${i + 1}].scope`,
        message: '"percent_of_included" is for the whole account: no org or tags in scope',
      },
      {
        path: `$.alerts[${i + 2}].scope.tags`,
        message: 'a stall rule watches whole orgs or products: no tags',
      },
    ]);
  });

  it('rejects scope references to unknown orgs and products, and duplicate rule ids', () => {
    const s = acme();
    const i = s.alerts!.length;
    s.alerts!.push({
      id: 'logs-spike',
      kind: 'stall',
      scope: { org: 'ghost', product: 'ghost_product' },
      recipients: ['ops@acme.example'],
    });
    expect(sortedIssues(s)).toEqual([
      { path: `$.alerts[${i}].id`, message: 'duplicate alert rule id "logs-spike"' },
      { path: `$.alerts[${i}].scope.org`, message: 'unknown org "ghost"' },
      { path: `$.alerts[${i}].scope.product`, message: 'unknown product "ghost_product"' },
    ]);
  });
});

describe('validateSpec: reports every problem at once', () => {
  it('reports shape errors and cross-reference errors together, each with its path', () => {
    const s = acme() as SpecInput & Loose;
    s.extra = true; // shape
    s.orgs[3]!.parent = 'nope'; // cross-reference
    s.commitments![1]!.product = 'missing_product'; // cross-reference
    s.attribution = { tag_keys: ['team', 'Env'] }; // cross-reference
    (s.alerts![0] as Loose).above = '50'; // cross-reference
    s.products[3]!.allotment = { per: 'apm_hostz', quantity: 150 }; // cross-reference
    expect(sortedIssues(s)).toEqual(
      sorted([
        { path: '$', message: 'Unrecognized key: "extra"' },
        { path: '$.orgs[3].parent', message: 'unknown parent org "nope"' },
        { path: '$.commitments[1].product', message: 'unknown product "missing_product"' },
        {
          path: '$.attribution.tag_keys[1]',
          message: '"Env" is not a normalized tag key (lower-case, starts with a letter, no ":")',
        },
        {
          path: '$.alerts[0]',
          message: 'a threshold rule needs exactly one of "above" or "percent_of_included"',
        },
        { path: '$.products[3].allotment.per', message: 'unknown product "apm_hostz"' },
      ]),
    );
  });

  it('rejects input that is not an object at all, at path $', () => {
    expect(issuesOf(null)).toContainEqual({
      path: '$',
      message: 'Invalid input: expected object, received null',
    });
    expect(issuesOf('acme')).toContainEqual({
      path: '$',
      message: 'Invalid input: expected object, received string',
    });
  });
});

describe('validateSpec: decimals given as JSON numbers', () => {
  it('accepts a small price written as a plain JSON number', () => {
    // JSON text `0.0000001` is a valid non-negative decimal; the design allows numbers for prices.
    const s = JSON.parse(
      ACME.replace('"committed_price": "0.10"', '"committed_price": 0.0000001'),
    ) as SpecInput;
    expect(s.commitments![2]!.committed_price).toBe(0.0000001);
    const r = validateSpec(s);
    // Fails today with: $.commitments[2].committed_price: must be a non-negative decimal, e.g. "31.00"
    // (String(0.0000001) is "1e-7", which the decimal pattern does not accept).
    expect(r.ok ? [] : r.issues).toEqual([]);
  });
});

describe('validateSpec: checked at the door, in the terms of their use', () => {
  it('one address per recipient: a list, a display name or spaces are refused', () => {
    const s = acme();
    s.finance = {
      recipients: [
        'ops,cfo@evil.example',
        'Ops <ops@acme.example>',
        'a b@acme.example',
        'ops@acme.example;x@y',
      ],
    };
    expect(issuesOf(s).map((i) => i.path)).toEqual([
      '$.finance.recipients[0]',
      '$.finance.recipients[1]',
      '$.finance.recipients[2]',
      '$.finance.recipients[3]',
    ]);
    s.finance = { recipients: ['first.last+billing@sub.acme.example', 'ops@localhost'] };
    expect(validateSpec(s).ok).toBe(true);
  });

  it('a tag key used for attribution cannot contain "/" (it names a file); "." is fine', () => {
    const s = acme();
    s.attribution = { tag_keys: ['kube/namespace', 'kube.namespace'] };
    expect(issuesOf(s)).toEqual([
      {
        path: '$.attribution.tag_keys[0]',
        message: '"kube/namespace": a tag key used for attribution cannot contain "/"',
      },
    ]);
  });

  it('alert scope tags are read as the hourly evaluation reads them', () => {
    const s = acme();
    (s.alerts![1] as Loose).scope = {
      product: 'logs_ingested_bytes',
      tags: ['env:prod', ':nokey', '9lives'],
    };
    expect(issuesOf(s)).toEqual([
      { path: '$.alerts[1].scope.tags[1]', message: 'tag ":nokey": tag ":nokey" has no key' },
      {
        path: '$.alerts[1].scope.tags[2]',
        message: 'tag "9lives": tag key "9lives" must start with a letter',
      },
    ]);
  });

  it('lateness is at most 27 days (the close runs by the 28th); durations at most a year', () => {
    const s = acme();
    s.account.lateness = '28d';
    (s.alerts![0] as Loose).renotify = '99999999999999999999h';
    expect(issuesOf(s).map((i) => i.path)).toEqual(['$.account.lateness', '$.alerts[0].renotify']);
    s.account.lateness = '27d';
    (s.alerts![0] as Loose).renotify = '7d';
    expect(validateSpec(s).ok).toBe(true);
  });

  it('quantities and prices must fit the billing scale', () => {
    const s = acme();
    s.commitments![0]!.quantity = '1'.repeat(30);
    s.commitments![1]!.committed_price = '0.0000000000001';
    expect(issuesOf(s).map((i) => i.path)).toEqual([
      '$.commitments[0].quantity',
      '$.commitments[1].committed_price',
    ]);
  });
});

describe('validateSpec: currency and billing contacts', () => {
  it('takes an ISO 4217 code, names the field of a wrong one, and a billing contact must be one address', () => {
    const s = acme();
    (s.account as Loose).currency = 'EUR';
    (s.orgs[1] as Loose).billing_contact = 'billing@client-a.example';
    expect(validateSpec(s).ok).toBe(true);
    (s.account as Loose).currency = 'usd';
    (s.orgs[1] as Loose).billing_contact = 'a@x.example, b@x.example';
    expect(sortedIssues(s)).toEqual([
      {
        path: '$.account.currency',
        message: 'must be an ISO 4217 currency code in capitals, e.g. "USD" or "EUR"',
      },
      {
        path: '$.orgs[1].billing_contact',
        message: 'must be one e-mail address, e.g. "finance@example.com"',
      },
    ]);
  });
});
