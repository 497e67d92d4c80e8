import { Readable } from 'node:stream';
import { DelimitedParser, type DelimitedRecord } from '../../domain/delimited';
import { LineSplitter, type PhysicalLine } from '../../domain/lines';
import type { ReadRecord } from '../../domain/records';
import { readRecords } from '../../infra/record-readers';

const HEADER = 'timestamp,org,product,value,tags';
const row = (i: number) => `2026-03-05T14:00:00Z,client-a,infra_hosts,${i},team:a`;

async function read(
  text: string | Buffer[],
  format: 'csv' | 'tsv' | 'ndjson' = 'csv',
): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  const chunks = typeof text === 'string' ? [Buffer.from(text)] : text;
  for await (const batch of readRecords(Readable.from(chunks), format)) out.push(...batch);
  return out;
}
const lineOf = (r: ReadRecord) => r.line;
const kind = (r: ReadRecord) => ('record' in r ? 'ok' : 'bad');

describe('LineSplitter', () => {
  const split = (chunks: string[], max?: number) => {
    const s = new LineSplitter(max);
    const out: PhysicalLine[] = [];
    for (const c of chunks) s.push(c, out);
    s.end(out);
    return out;
  };

  it('counts \\r\\n, \\n and a lone \\r as one break each, also across chunk boundaries', () => {
    const text = 'a\r\nb\nc\rd\r\n\ne';
    const whole = split([text]);
    expect(whole.map((l) => [l.line, l.text])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
      [5, ''],
      [6, 'e'],
    ]);
    // every way of cutting the text into two chunks gives the same lines
    for (let i = 1; i < text.length; i++) expect(split([text.slice(0, i), text.slice(i)])).toEqual(whole);
  });

  it('drops a byte-order mark and keeps a final line without a break', () => {
    expect(split(['\uFEFFx\ny'])).toEqual([
      { line: 1, text: 'x' },
      { line: 2, text: 'y' },
    ]);
  });

  it('caps a long line and says how long it was', () => {
    expect(split(['ab', 'cdef', 'g\nh'], 3)).toEqual([
      { line: 1, text: 'abc', length: 7 },
      { line: 2, text: 'h' },
    ]);
  });
});

describe('DelimitedParser', () => {
  const parse = (
    text: string,
    delimiter: ',' | '\t' = ',',
    limits?: { maxLines: number; maxChars: number },
  ) => {
    const lines: PhysicalLine[] = [];
    const s = new LineSplitter();
    s.push(text, lines);
    s.end(lines);
    const p = new DelimitedParser(delimiter, limits);
    const out: DelimitedRecord[] = [];
    for (const l of lines) p.feed(l, out);
    p.end(out);
    return out;
  };

  it('reads quoted fields with delimiters, doubled quotes and line breaks', () => {
    expect(parse('a,"b,c","say ""hi""","two\r\nlines"\nx,y,z,w')).toEqual([
      { line: 1, raw: 'a,"b,c","say ""hi""","two\nlines"', fields: ['a', 'b,c', 'say "hi"', 'two\nlines'] },
      { line: 3, raw: 'x,y,z,w', fields: ['x', 'y', 'z', 'w'] },
    ]);
  });

  it('a quote inside an unquoted field or text after a closing quote spoils that record only', () => {
    const out = parse('a,b""c\n"team:a"x,1\nok,1');
    expect(out.map((r) => [r.line, 'fields' in r ? 'ok' : r.malformed])).toEqual([
      [1, expect.stringContaining('quote inside unquoted field 2')],
      [2, expect.stringContaining('after the closing quote of field 1')],
      [3, 'ok'],
    ]);
  });

  it('an unclosed quote gives up after the limit and reads the lines after it again', () => {
    const out = parse('"open,1\nb,2\nc,3\nd,4\ne,5', ',', { maxLines: 3, maxChars: 1000 });
    expect(out.map((r) => [r.line, 'fields' in r ? r.fields.join('|') : 'bad'])).toEqual([
      [1, 'bad'],
      [2, 'b|2'],
      [3, 'c|3'],
      [4, 'd|4'],
      [5, 'e|5'],
    ]);
  });

  it('an unclosed quote at the end of the file is one malformed record, the rest read again', () => {
    const out = parse('a,1\n"b,2\nc,3');
    expect(out.map((r) => [r.line, 'fields' in r ? r.fields.join('|') : r.malformed])).toEqual([
      [1, 'a|1'],
      [2, expect.stringContaining('not closed before the end of the file')],
      [3, 'c|3'],
    ]);
  });

  it('TSV has no quoting: quotes are text', () => {
    expect(parse('a\t"b\tc"', '\t')).toEqual([{ line: 1, raw: 'a\t"b\tc"', fields: ['a', '"b', 'c"'] }]);
  });
});

describe('readRecords', () => {
  it('a malformed CSV line does not take the 100 000 lines after it into quarantine', async () => {
    const lines = [HEADER, '2026-03-05T14:00:00Z,client-a,infra_hosts,1,"team:a"x'];
    for (let i = 0; i < 100_000; i++) lines.push(row(i));
    const out = await read(`${lines.join('\n')}\n`);
    expect(out).toHaveLength(100_001);
    expect(kind(out[0] as ReadRecord)).toBe('bad');
    expect(out.slice(1).every((r) => kind(r) === 'ok')).toBe(true);
    expect(out[100_000]?.line).toBe(100_002);
  });

  it('two quotes inside an unquoted field: one malformed record with a line of its own', async () => {
    const out = await read(`${HEADER}\n2026-03-05T14:00:00Z,client-a,infra_hosts,1,te""am:a\n${row(2)}\n`);
    expect(out.map((r) => [lineOf(r), kind(r)])).toEqual([
      [2, 'bad'],
      [3, 'ok'],
    ]);
  });

  it('an unclosed quote loses nothing after it', async () => {
    const body = [HEADER, '2026-03-05T14:00:00Z,client-a,infra_hosts,1,"team:a'];
    for (let i = 0; i < 200; i++) body.push(row(i));
    const out = await read(body.join('\n'));
    expect(out).toHaveLength(201);
    expect(out.filter((r) => kind(r) === 'ok')).toHaveLength(200);
    expect(new Set(out.map(lineOf)).size).toBe(201);
  });

  it('a CRLF header with LF data, and line numbers after a quoted CRLF', async () => {
    const text = `${HEADER}\r\n${row(1)}\n2026-03-05T14:00:00Z,client-a,infra_hosts,2,"team:a,\r\nenv:b"\n${row(3)}\r${row(4)}`;
    const out = await read(text);
    expect(out.map((r) => [lineOf(r), kind(r)])).toEqual([
      [2, 'ok'],
      [3, 'ok'],
      [5, 'ok'],
      [6, 'ok'],
    ]);
    expect(out[1]).toMatchObject({ record: { tags: 'team:a,\nenv:b' } });
  });

  it('line numbers and records do not depend on where the chunks are cut', async () => {
    const text = `${HEADER}\r\n${row(1)}\r\n"2026-03-05T14:00:00Z",client-a,infra_hosts,"2","a,\r\nb"\r\nbad"line\r${row(3)}\n`;
    const whole = await read(text);
    const bytes = Buffer.from(text);
    for (let i = 1; i < bytes.length; i++) {
      expect(await read([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(whole);
    }
  });

  it('NDJSON: a huge line is one malformed record and the next line is read', async () => {
    const huge = `{"value":"${'9'.repeat((1 << 20) + 10)}"}`;
    const out = await read(`${huge}\n{"org":"x"}\n`, 'ndjson');
    expect(out.map((r) => [lineOf(r), 'malformed' in r ? r.malformed : 'ok'])).toEqual([
      [1, expect.stringMatching(/^line is \d+ characters long$/)],
      [2, 'ok'],
    ]);
    expect(out[0]?.raw.length).toBe(1 << 20);
  });

  it('NDJSON with mixed line endings and invalid UTF-8', async () => {
    const out = await read(
      [Buffer.from('{"a":1}\r\n{"a":2}\r{"a":'), Buffer.from([0xff, 0xfe]), Buffer.from('3}\n\n{"a":4}')],
      'ndjson',
    );
    expect(out.map((r) => [lineOf(r), kind(r)])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'bad'],
      [5, 'ok'],
    ]);
  });

  it('a header that cannot be read is an unreadable file', async () => {
    await expect(read('"timestamp,org\nx')).rejects.toThrow(/header row \(line 1\) cannot be read/);
    await expect(read('ts,org\nx,y')).rejects.toThrow(/lacks column\(s\) timestamp, product, value/);
  });
});
