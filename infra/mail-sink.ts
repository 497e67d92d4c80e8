import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server in process that keeps what it receives (and writes each message as .eml when given a
 * folder): the demo's mailbox and the tests' counterpart. `refuse()` closes the listening socket (connections
 * are refused) until `accept()` opens it again on the same port; `rejectWith(code)` answers DATA with an error;
 * `hold()` keeps every message's final reply back until `release()`, and a message whose client hung up before
 * its reply is dropped, as a real server does (it was never accepted).
 */
export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  file?: string;
}

export interface MailSink {
  url: string;
  port: number;
  messages: ReceivedMail[];
  refuse(): Promise<void>;
  accept(): Promise<void>;
  rejectWith(code: number | undefined, message?: string): void;
  hold(): void;
  /** Answers the held messages: kept when their client is still connected, dropped otherwise. */
  release(): void;
  /** Messages waiting for their reply (hold), and messages dropped because their client hung up. */
  readonly held: number;
  /** Held messages whose client has hung up already (release() will drop them). */
  readonly heldGone: number;
  readonly dropped: number;
  close(): Promise<void>;
}

export async function startMailSink(opts: { dir?: string; port?: number } = {}): Promise<MailSink> {
  const messages: ReceivedMail[] = [];
  let reject: { code: number; message: string } | undefined;
  let holding = false;
  let waiting: { session: string; keep: () => void }[] = [];
  const closed = new Set<string>();
  let dropped = 0;
  const make = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (reject) {
            const err = new Error(reject.message) as Error & { responseCode: number };
            err.responseCode = reject.code;
            callback(err);
            return;
          }
          const raw = Buffer.concat(chunks);
          const keep = () => {
            const mail: ReceivedMail = {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw,
            };
            if (opts.dir) {
              fs.mkdirSync(opts.dir, { recursive: true, mode: 0o750 });
              mail.file = path.join(opts.dir, `${String(messages.length + 1).padStart(4, '0')}.eml`);
              fs.writeFileSync(mail.file, raw, { mode: 0o640 });
            }
            messages.push(mail);
            callback();
          };
          if (holding) waiting.push({ session: session.id, keep });
          else keep();
        });
      },
      onClose(session) {
        closed.add(session.id);
      },
    });
  let server = make();
  const listen = (port: number) =>
    new Promise<number>((resolve, rejectListen) => {
      server.once('error', rejectListen);
      server.listen(port, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port));
    });
  const port = await listen(opts.port ?? 0);
  const closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
  let open = true;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    async refuse() {
      if (!open) return;
      open = false;
      await closeServer();
    },
    async accept() {
      if (open) return;
      server = make();
      await listen(port);
      open = true;
    },
    rejectWith(code, message = 'rejected by the test mail server') {
      reject = code === undefined ? undefined : { code, message };
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      const now = waiting;
      waiting = [];
      for (const w of now) {
        if (closed.has(w.session)) dropped++;
        else w.keep();
      }
    },
    get held() {
      return waiting.length;
    },
    get heldGone() {
      return waiting.filter((w) => closed.has(w.session)).length;
    },
    get dropped() {
      return dropped;
    },
    async close() {
      if (open) await closeServer();
      open = false;
    },
  };
}
