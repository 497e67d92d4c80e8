import { renderStatement, TEXT_WIDTH } from '../../domain/statement-mail';
import { statementScope, statementSubject, type StatementModel } from '../../domain/statement';

/** The statement's pure rules: scope order, subject and status wording, and the text part's width. */
const ORGS = [
  { public_id: 'msp', name: 'MSP', parent: null },
  { public_id: 'b', name: 'B', parent: 'msp' },
  { public_id: 'a', name: 'A', parent: 'msp' },
  { public_id: 'a-2', name: 'A two', parent: 'a' },
  { public_id: 'a-1', name: 'A one', parent: 'a' },
  { public_id: 'a-1-x', name: 'A one X', parent: 'a-1' },
];

function model(over: Partial<StatementModel> = {}): StatementModel {
  return {
    month: '2026-11',
    version: 1,
    org: 'a',
    status: 'final',
    data_complete_through: '2026-12-01T00:00:00.000Z',
    timezone: 'UTC',
    currency: 'EUR',
    scope: statementScope(ORGS, 'a'),
    rows: [],
    prices: [],
    ...over,
  };
}

describe('statementScope', () => {
  it('is the org, then each sub-org followed by its own, by public id; never a sibling or the parent', () => {
    expect(statementScope(ORGS, 'a').map((o) => [o.public_id, o.parent])).toEqual([
      ['a', null],
      ['a-1', 'a'],
      ['a-1-x', 'a-1'],
      ['a-2', 'a'],
    ]);
    expect(statementScope(ORGS, 'b').map((o) => o.public_id)).toEqual(['b']);
    expect(statementScope(ORGS, 'nobody')).toEqual([]);
  });
});

describe('subject and status', () => {
  it.each([
    [1, 'final', '(final)', 'Final, complete through 30 November 2026'],
    [1, 'provisional', '(provisional)', 'Provisional, complete up to 20 November 2026, 13:00 UTC'],
    [2, 'final', '(restated, version 2)', 'Restated v2 (final), complete through 30 November 2026'],
    [3, 'provisional', '(restated, version 3, provisional)', 'Restated v3 (provisional), complete up to'],
  ] as const)('version %i, %s', (version, status, subject, line) => {
    const m = model({
      version,
      status,
      data_complete_through: status === 'final' ? '2026-12-01T00:00:00.000Z' : '2026-11-20T13:00:00.000Z',
    });
    expect(statementSubject(m)).toBe(`[orgtally] A: statement for November 2026 ${subject}`);
    expect(renderStatement(m).text.split('\n')[1]).toContain(line);
  });
});

describe('the text part', () => {
  it('stays under 100 columns with long names, units and amounts; an org without usage says so', () => {
    const long = 'Very Long Client Name '.repeat(8).trim();
    const rows = ['a', 'a-1', 'a-1-x'].map((id) => ({
      public_id: id,
      org_name: `${long} ${id}`,
      billable: true,
      usage_type: 'synthetics_browser_test_runs_in_private_locations',
      total_usage: '123456789012.123456',
      billable_usage: '123456789012.123456',
      committed_usage: '1000',
      on_demand_usage: '123456788012.123456',
      committed_cost: '1500.00',
      on_demand_cost: '9876543210987.65',
      total_cost: '9876543212487.65',
    }));
    const m = model({
      rows,
      prices: [
        {
          usage_type: 'synthetics_browser_test_runs_in_private_locations',
          unit: 'thousand test runs in private locations',
          committed_price: '1.5',
          on_demand_price: '80.0125',
        },
      ],
    });
    const { text, html } = renderStatement(m);
    const lines = text.split('\n');
    expect(lines.filter((l) => l.length > TEXT_WIDTH)).toEqual([]);
    expect(lines.filter((l) => /\b[A-Z]{3}$/.test(l))).toEqual([]); // an amount is never split from its currency
    expect(text).toContain('EUR 80.0125 on-demand'); // a unit price keeps its decimals
    expect(text).toContain('EUR 29,629,629,637,462.95'); // Σ of the three orgs, exact
    expect(text).toMatch(/^ +No usage in November 2026\.$/m); // a-2
    expect(html).not.toContain('<script');
  });
});
