/**
 * Physical lines of a text stream, with exact line numbers. Line breaks are `\r\n`, `\n` or a lone `\r` (files
 * from different systems, concatenated, mix them: each counts as one break). A line longer than the cap keeps its
 * first `maxLength` characters and says how long it was, so one huge line cannot exhaust memory.
 */
export interface PhysicalLine {
  /** 1-based number of the line in the file. */
  line: number;
  text: string;
  /** Set when the line was longer than the cap: its full length in characters. */
  length?: number;
}

export const MAX_LINE_LENGTH = 1 << 20;

const BREAK = /\r\n|\r|\n/g;

export class LineSplitter {
  private buf = '';
  private dropped = 0;
  private line = 0;
  /** The previous chunk ended with `\r`: a `\n` starting the next chunk belongs to that break. */
  private skipLf = false;
  private started = false;

  constructor(private readonly maxLength = MAX_LINE_LENGTH) {}

  push(chunk: string, out: PhysicalLine[]): void {
    if (chunk === '') return;
    let start = 0;
    if (!this.started) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) start = 1; // a byte-order mark is not part of the first line
    }
    if (this.skipLf) {
      this.skipLf = false;
      if (chunk.charCodeAt(start) === 10) start++;
    }
    if (chunk.indexOf('\r', start) === -1) {
      // The common case, a chunk without carriage returns: indexOf is about three times as fast as the regex.
      for (let nl = chunk.indexOf('\n', start); nl !== -1; nl = chunk.indexOf('\n', start)) {
        this.append(chunk, start, nl);
        this.emit(out);
        start = nl + 1;
      }
      this.append(chunk, start, chunk.length);
      return;
    }
    BREAK.lastIndex = start;
    for (let m = BREAK.exec(chunk); m !== null; m = BREAK.exec(chunk)) {
      this.append(chunk, start, m.index);
      this.emit(out);
      start = m.index + m[0].length;
      if (m[0] === '\r' && start === chunk.length) this.skipLf = true;
    }
    this.append(chunk, start, chunk.length);
  }

  /** The last line, when the input does not end with a line break. */
  end(out: PhysicalLine[]): void {
    if (this.buf !== '' || this.dropped > 0) this.emit(out);
  }

  private append(chunk: string, from: number, to: number): void {
    if (from >= to) return;
    const room = this.maxLength - this.buf.length;
    if (to - from <= room) {
      this.buf = this.buf === '' ? chunk.slice(from, to) : this.buf + chunk.slice(from, to);
      return;
    }
    if (room > 0) this.buf += chunk.slice(from, from + room);
    this.dropped += to - from - Math.max(room, 0);
  }

  private emit(out: PhysicalLine[]): void {
    this.line++;
    const l: PhysicalLine = { line: this.line, text: this.buf };
    if (this.dropped > 0) l.length = this.buf.length + this.dropped;
    out.push(l);
    this.buf = '';
    this.dropped = 0;
  }
}
