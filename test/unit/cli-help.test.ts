import { buildProgram } from '../../scripts/program';
import { setWide, table } from '../../scripts/lib/output';

describe('the CLI help', () => {
  it('every command has an example, and required options say so', () => {
    const { program, withoutExample } = buildProgram();
    expect(withoutExample).toEqual([]);
    const report = program.commands.find((c) => c.name() === 'report');
    const monthEnd = report?.commands.find((c) => c.name() === 'month-end');
    const help = monthEnd?.helpInformation() ?? '';
    expect(help).toMatch(/--account <id> +account id \(required\)/);
  });
});

describe('tables', () => {
  const row = (i: number) => ({
    org: `client-${i}`,
    name: `A client with a rather long name number ${i}`,
    product: 'logs_indexed_events',
    total: '123456789.123456',
    billable: '123456789.123456',
    percentage_in_account: '12.3456',
    committed_cost: '1234.56',
    on_demand_cost: '98765.43',
    total_cost: '99999.99',
    note: 'trial org (billable: false): shown in "all", never billed',
  });
  afterEach(() => setWide(false));

  it('fit 120 columns: text is cut first, numbers never, then the last columns go; the last line says so', () => {
    const out = table([row(1), row(2)]).split('\n');
    expect(Math.max(...out.slice(0, -1).map((l) => l.length))).toBeLessThanOrEqual(120);
    expect(out[2]).toContain('123456789.123456');
    expect(out[2]).toContain('A client wi…');
    // every number shown is shown whole (no cell ends in a cut digit)
    expect(out[2]?.split(/ {2,}/).filter((c) => /^[\d.]+…$/.test(c))).toEqual([]);
    expect(out[out.length - 1]).toMatch(/long text cut .*column\(s\) left out .*--wide shows everything/);
  });

  it('--wide prints every column in full', () => {
    setWide(true);
    const out = table([row(1)]).split('\n');
    expect(out[2]).toContain('A client with a rather long name number 1');
    expect(out[2]).toContain('never billed');
    expect(out).toHaveLength(3);
  });

  it('a narrow table is left as it is', () => {
    expect(table([{ a: '1', b: 'x' }])).toBe('a  b\n-  -\n1  x');
  });
});
