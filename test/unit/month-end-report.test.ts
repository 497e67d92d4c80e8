import {
  change,
  formatNumber,
  mailSubject,
  monthEndFileNames,
  orgSummaries,
  renderHtml,
  renderText,
  type MailModel,
  type OrgRow,
} from '../../domain/month-end-report';
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

function model(over: Partial<MailModel> = {}): MailModel {
  return {
    account: { id: 'acme', name: 'Acme <MSP>', timezone: 'UTC' },
    month: '2026-10',
    version: 1,
    status: 'final',
    data_complete_through: '2026-11-01T00:00:00.000Z',
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
        committed_cost: '10.00',
        on_demand_cost: '119990.00',
        total_cost: '120000.00',
      },
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
    changes: [],
    files: monthEndFileNames('acme', '2026-10', ['team']),
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
  it('names the files like Datadog', () => {
    expect(monthEndFileNames('acme', '2026-10', ['team', 'env'])).toEqual({
      byOrg: 'month_end_acme_2026-10_by_org.csv',
      byTag: 'month_end_acme_2026-10_by_tag.csv',
      summaries: ['summary_team_2026-10.tsv', 'summary_env_2026-10.tsv'],
    });
  });
});

describe('the finance mail', () => {
  it('HTML: escaped, no script, totals, orgs with shares, trial marked, status', () => {
    const html = renderHtml(model());
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('Acme &lt;MSP&gt;');
    expect(html).toContain('120,000.00');
    expect(html).toContain('75 %');
    expect(html).toContain('no (trial)');
    expect(html).toContain('Final: all data through 2026-11-01T00:00:00.000Z');
    expect(html).not.toContain('Restated');
  });
  it('a restated version says so in the subject and lists what changed', () => {
    const m = model({
      version: 2,
      changes: [{ usage_type: 'logs', field: 'total_cost', from: '100.00', to: '120000.00' }],
    });
    expect(mailSubject(m)).toBe('[orgtally] Acme <MSP>: month-end 2026-10, restated (version 2, final)');
    expect(renderHtml(m)).toMatch(/Restated: what changed since version 1[\s\S]*total_cost[\s\S]*100\.00/);
    expect(renderText(m)).toMatch(/Restated: what changed since version 1\norg +product +figure/);
  });
  it('month-over-month column when the previous month exists', () => {
    const prev = model().totals.map((t) => ({ ...t, billable_usage: '1000000' }));
    const text = renderText(model({ previous: { month: '2026-09', version: 1, totals: prev } }));
    expect(text).toContain('200,000 (20 %)');
    expect(renderText(model())).not.toContain('(20 %)');
  });
  it('provisional data is labelled as such', () => {
    expect(renderText(model({ status: 'provisional' }))).toContain('Provisional: data may still arrive');
    expect(mailSubject(model({ status: 'provisional' }))).toBe(
      '[orgtally] Acme <MSP>: month-end 2026-10, provisional',
    );
  });
});

describe('the six-month section of the mail', () => {
  const trends = {
    months: ['2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10'],
    account: [
      { usage_type: 'logs', unit: 'GB', values: [null, '50', '100', '0', '25', '200'] },
      { usage_type: 'idle', unit: 'seat', values: ['0', '0', '0', '0', '0', '0'] },
    ],
    movers: [
      {
        usage_type: 'logs',
        kind: 'increase',
        public_id: 'client-a',
        org_name: 'Client A',
        previous: '20',
        current: '170',
        abs: '150',
        pct: '750',
      },
    ],
  };
  it('draws one bar per month with table cells (no image to block, no script), widths proportional', () => {
    const html = renderHtml(model({ trends }));
    expect(html).not.toMatch(/<script|<img|javascript:/i);
    const widths = [...html.matchAll(/<td width="(\d+)" height="12" bgcolor/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([55, 110, 1, 28, 220]); // 50, 100, 0 (a sliver), 25, 200 of 220 px
    expect(html).toContain('not closed'); // the absent first month
    expect(html).not.toContain('<strong>idle</strong>'); // a product without usage draws nothing
    expect(html).toMatch(/Client A<\/td>[\s\S]*?750 %/);
  });
  it('the text part has a sparkline per product', () => {
    expect(renderText(model({ trends }))).toContain('logs      ▃▅▁▂█  - | 50 | 100 | 0 | 25 | 200');
  });
});
