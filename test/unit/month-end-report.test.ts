import {
  change,
  formatNumber,
  monthEndFileNames,
  orgSummaries,
  type OrgRow,
  type TotalRow,
} from '../../domain/month-end-report';
import {
  costChanges,
  headline,
  mailSubject,
  orgTree,
  restatement,
  type MailModel,
} from '../../domain/month-end-mail';
import { renderHtml } from '../../domain/month-end-mail-html';
import { renderText } from '../../domain/month-end-mail-text';
import { completeThrough, humanInstant } from '../../domain/human-time';
import { amount, percentChange, percentOf, price, quantity, signedMoney } from '../../domain/money';
import { previousMonth, isMonth } from '../../domain/month-end';

const org = (public_id: string, usage_type: string, total_cost: string, billable = true): OrgRow => ({
  public_id,
  org_name: public_id.toUpperCase(),
  billable,
  usage_type,
  total_usage: '1',
  billable_usage: billable ? '1' : '0',
  committed_usage: '0',
  on_demand_usage: '0',
  percentage_in_account: '50',
  committed_cost: '0',
  on_demand_cost: total_cost,
  total_cost,
});

const unpriced = (usage_type: string): TotalRow => ({
  usage_type,
  unit: 'seat',
  aggregation: 'max',
  total_usage: '7',
  billable_usage: '7',
  committed_usage: '0',
  allotment_usage: '0',
  included_usage: '0',
  on_demand_usage: '7',
  committed_price: '0',
  on_demand_price: '0',
  committed_cost: '0.00',
  on_demand_cost: '0.00',
  total_cost: '0.00',
});

function model(over: Partial<MailModel> = {}): MailModel {
  return {
    account: { id: 'acme', name: 'Acme <MSP>', timezone: 'UTC', currency: 'EUR' },
    month: '2026-10',
    version: 1,
    status: 'final',
    data_complete_through: '2026-11-01T00:00:00.000Z',
    final_after: '2026-11-04T00:00:00.000Z',
    as_of: '2026-11-04T01:00:00.000Z',
    tag_keys: ['team'],
    totals: [
      {
        usage_type: 'logs',
        unit: 'GB',
        aggregation: 'sum',
        total_usage: '1234567.5',
        billable_usage: '1200000',
        committed_usage: '100',
        allotment_usage: '0',
        included_usage: '100',
        on_demand_usage: '1199900',
        committed_price: '0.1',
        on_demand_price: '0.1',
        committed_cost: '10.00',
        on_demand_cost: '119990.00',
        total_cost: '120000.00',
      },
      unpriced('seats'),
    ],
    by_org: [
      org('client-a', 'logs', '90000.00'),
      org('client-b', 'logs', '30000.00'),
      org('trial', 'logs', '0.00', false),
    ],
    top_tags: [
      {
        public_id: 'client-a',
        org_name: 'Client A',
        usage_type: 'logs',
        tags: { team: ['web'] },
        total_usage: '1',
        billable_usage: '1',
        committed_usage: '0',
        on_demand_usage: '1',
        percentage_in_org: '100',
        percentage_in_account: '75',
        committed_cost: '0.00',
        on_demand_cost: '90000.00',
        total_cost: '90000.00',
      },
    ],
    orgs: [
      { public_id: 'acme', name: 'Acme <MSP>', parent: null },
      { public_id: 'client-a', name: 'CLIENT-A', parent: 'acme' },
      { public_id: 'client-b', name: 'CLIENT-B', parent: 'client-a' },
      { public_id: 'trial', name: 'TRIAL', parent: 'acme' },
    ],
    cost_history: [
      { month: '2026-09', committed: '10.00', on_demand: '5.00' },
      { month: '2026-10', committed: '10.00', on_demand: '119990.00' },
    ],
    files: monthEndFileNames('acme', '2026-10', 1, ['team']),
    ...over,
  };
}

describe('month names', () => {
  it('validates and steps back across a year', () => {
    expect([isMonth('2026-10'), isMonth('2026-13'), isMonth('2026-1')]).toEqual([true, false, false]);
    expect([previousMonth('2026-01'), previousMonth('2026-10')]).toEqual(['2025-12', '2026-09']);
  });
});

describe('report helpers', () => {
  it('month-over-month: a previous 0 is new usage, never an infinite percent', () => {
    expect(change('0', '5')).toEqual({ abs: '5', pct: 'new' });
    expect(change(undefined, '0')).toEqual({ abs: '0', pct: '0 %' });
    expect(change('200', '150')).toEqual({ abs: '-50', pct: '-25 %' });
    expect(change('3', '4')).toEqual({ abs: '1', pct: '33.3 %' });
  });
  it('formats with thousands separators, keeping or fixing decimals', () => {
    expect(formatNumber('1234567.5')).toBe('1,234,567.5');
    expect(formatNumber('1234567.5', 2)).toBe('1,234,567.50');
    expect(formatNumber('0.005', 2)).toBe('0.01');
    expect(formatNumber('-1000')).toBe('-1,000');
  });
  it('sums each org over products, sorts by cost and states the share', () => {
    expect(orgSummaries([org('b', 'x', '1.00'), org('a', 'x', '2.00'), org('a', 'y', '1.00')])).toEqual([
      { public_id: 'a', org_name: 'A', billable: true, total_cost: '3', share_of_cost: '75', products: 2 },
      { public_id: 'b', org_name: 'B', billable: true, total_cost: '1', share_of_cost: '25', products: 1 },
    ]);
  });
  it('names the files like Datadog, with the version', () => {
    expect(monthEndFileNames('acme', '2026-10', 2, ['team', 'env'])).toEqual({
      byOrg: 'month_end_acme_2026-10_v2_by_org.csv',
      byTag: 'month_end_acme_2026-10_v2_by_tag.csv',
      summaries: ['summary_team_2026-10_v2.tsv', 'summary_env_2026-10_v2.tsv'],
    });
  });
});

describe('money for finance', () => {
  it('formats exactly, signs changes, and states shares and changes to one decimal', () => {
    expect([amount('1234.5'), amount('-0.005'), amount('1234567.125')]).toEqual([
      '1,234.50',
      '-0.01',
      '1,234,567.13',
    ]);
    expect([signedMoney('-3.1', 'EUR'), signedMoney('2533.81', 'USD'), signedMoney('0', 'USD')]).toEqual([
      '-EUR 3.10',
      '+USD 2,533.81',
      'USD 0.00',
    ]);
    // the sign comes from the rounded value: a change under half a cent is no change
    expect([signedMoney('-0.004', 'USD'), signedMoney('0.004', 'USD'), signedMoney('-0.005', 'USD')]).toEqual(
      ['USD 0.00', 'USD 0.00', '-USD 0.01'],
    );
    expect([price('0.0017'), price('15'), price('1500.5')]).toEqual(['0.0017', '15.00', '1,500.50']);
    expect([percentChange('8548.13', '11081.94'), percentChange('10', '9'), percentChange('0', '5')]).toEqual(
      ['+29.6 %', '-10.0 %', undefined],
    );
    expect([percentOf('10076.94', '11081.94'), quantity('1198.6612'), quantity('40.000')]).toEqual([
      '90.9 %',
      '1,198.66',
      '40',
    ]);
  });
});

describe('the finance mail', () => {
  it('leads with the amount in its currency, the change and the split; unpriced products are named, never 0.00', () => {
    const prevTotals = [
      { ...model().totals[0], total_cost: '100000.00', committed_cost: '10.00' } as TotalRow,
    ];
    const m = model({
      previous: { month: '2026-09', version: 1, computed_at: '', totals: prevTotals, by_org: [] },
    });
    expect(headline(m)).toEqual({
      total: '120000',
      committed: '10',
      on_demand: '119990',
      on_demand_share: '100.0 %',
      previous: { month: '2026-09', total: '100000', change: '20000', pct: '+20.0 %' },
      not_priced: ['seats'],
    });
    const text = renderText(m);
    expect(text).toContain('Amount for October 2026: EUR 120,000.00');
    expect(text).toContain('Against September 2026: +EUR 20,000.00 (+20.0 %), was EUR 100,000.00');
    expect(text).toMatch(/seats +seat +7 +0 +7 +- +not priced/);
    expect(text).not.toMatch(/seats.*0\.00/);
    expect(mailSubject(m)).toBe('[orgtally] Acme <MSP>: October 2026 month-end, EUR 120,000.00, final');
  });
  it('HTML: escaped, no script, the status banner in words, a chart only when asked', () => {
    const html = renderHtml(model(), { chart: true });
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('Acme &lt;MSP&gt;');
    expect(html).toContain('FINAL');
    expect(html).toContain('All usage through 31 October 2026 is in.');
    expect(html).toContain('src="cid:cost-six-months@orgtally"');
    expect(renderHtml(model(), { chart: false })).not.toContain('cid:');
    const prov = renderHtml(model({ status: 'provisional' }), { chart: false });
    expect(prov).toContain('PROVISIONAL');
    expect(prov).toContain('until 4 November 2026, 00:00 UTC');
  });
  it('chargeback is a tree: sub-orgs under their parent with the subtree amount', () => {
    const lines = orgTree(model());
    expect(lines.map((l) => [l.public_id, l.depth, l.total, l.subtree?.total])).toEqual([
      ['acme', 0, '0', undefined],
      ['client-a', 1, '90000', '120000'],
      ['client-b', 2, '30000', undefined],
      ['trial', 1, '0', undefined],
    ]);
  });
  it('largest changes are in money, by size whatever the sign', () => {
    const before = [org('a', 'x', '10.00'), org('b', 'x', '100.00'), org('c', 'x', '5.00')];
    const after = [org('a', 'x', '15.00'), org('b', 'x', '40.00'), org('c', 'x', '5.00')];
    expect(costChanges(before, after).map((c) => [c.public_id, c.change, c.pct])).toEqual([
      ['b', '-60', '-60.0 %'],
      ['a', '5', '+50.0 %'],
    ]);
  });
  it('a restatement says the totals before and after, who sent usage and who moved through the split', () => {
    const prior = {
      version: 1,
      computed_at: '2026-11-02T00:00:00.000Z',
      totals: [{ ...model().totals[0], total_cost: '110000.00' } as TotalRow],
      by_org: [
        { ...org('client-a', 'logs', '85000.00') },
        { ...org('client-b', 'logs', '25000.00'), billable_usage: '0.5' },
        org('trial', 'logs', '0.00', false),
      ],
    };
    const m = model({ version: 2, prior });
    const r = restatement(m);
    expect(r).toMatchObject({ before: '110000', after: '120000', change: '10000' });
    expect(r?.usage_changed).toEqual(['CLIENT-B']);
    expect(r?.moved_by_split).toEqual(['CLIENT-A']);
    expect(mailSubject(m)).toContain('restated (version 2), final');
    expect(renderText(m)).toContain(
      'Version 1 of 2 November 2026 said EUR 110,000.00; this version says EUR 120,000.00',
    );
  });
  it('the text part stays under 100 columns', () => {
    for (const line of renderText(model({ version: 2 })).split('\n')) expect(line.length).toBeLessThan(100);
  });
});

describe('dates in the account zone', () => {
  it('names the zone as the spec does and ends a month at its last day, east and west of UTC', () => {
    expect(humanInstant('2026-12-04T00:00:00Z', 'America/New_York')).toBe(
      '3 December 2026, 19:00 America/New_York',
    );
    expect(humanInstant('2026-12-04T00:00:00Z', 'Asia/Kolkata')).toBe('4 December 2026, 05:30 Asia/Kolkata');
    expect(completeThrough('2026-12-01T05:00:00Z', 'America/New_York')).toBe('through 30 November 2026');
    expect(completeThrough('2026-11-30T18:30:00Z', 'Asia/Kolkata')).toBe('through 30 November 2026');
    expect(completeThrough('2026-11-30T14:00:00Z', 'UTC')).toBe('up to 30 November 2026, 14:00 UTC');
  });
  it('a restatement caused by a contract change says so, not that usage was split again', () => {
    const base = model().totals[0] as TotalRow;
    const prior = {
      version: 1,
      computed_at: '2026-11-02T00:00:00.000Z',
      totals: [{ ...base, on_demand_price: '0.08', total_cost: '96002.00' }, unpriced('seats')],
      by_org: [
        org('client-a', 'logs', '72000.00'),
        org('client-b', 'logs', '24002.00'),
        org('trial', 'logs', '0.00', false),
      ],
    };
    const r = restatement(model({ version: 2, prior }));
    expect(r?.contract_changed).toEqual(['logs']);
    expect(r?.usage_changed).toEqual([]);
    expect(r?.moved_by_split).toEqual([]);
    expect(renderText(model({ version: 2, prior }))).toContain('The contract changed after version 1');
  });
});
