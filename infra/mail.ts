import nodemailer from 'nodemailer';

/** The mail transport: one SMTP connection per message (no pool), short timeouts, errors classified once. */

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Deterministic, so a receiver can drop a duplicate of the same logical message. */
  messageId: string;
  date: Date;
  /** A file on disk (`path`) or bytes (`content`); `cid` makes it an inline image the HTML shows as `cid:…`. */
  attachments: MailAttachment[];
  headers?: Record<string, string>;
}

export interface MailAttachment {
  filename: string;
  contentType: string;
  path?: string;
  content?: Buffer;
  cid?: string;
}

export class MailError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly response: string,
  ) {
    super(message);
    this.name = 'MailError';
  }
}

/** SMTP 5xx is permanent; 4xx, refused or dropped connections and timeouts are transient. */
export function classifySmtpError(err: unknown): MailError {
  const e = err as { message?: string; code?: string; responseCode?: number; response?: string };
  const response = e.response ?? e.message ?? String(err);
  if (typeof e.responseCode === 'number') {
    return new MailError(
      `SMTP ${e.responseCode}: ${response}`,
      e.responseCode >= 500 && e.responseCode < 600,
      response,
    );
  }
  return new MailError(`${e.code ?? 'mail error'}: ${e.message ?? response}`, false, response);
}

export async function sendMail(smtpUrl: string, mail: OutgoingMail): Promise<{ response: string }> {
  const u = new URL(smtpUrl);
  const secure = u.protocol === 'smtps:';
  const transport = nodemailer.createTransport({
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    ...(u.username
      ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } }
      : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 60_000,
  });
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      date: mail.date,
      attachments: mail.attachments,
      headers: mail.headers,
    });
    return { response: info.response };
  } catch (err) {
    throw classifySmtpError(err);
  } finally {
    transport.close();
  }
}
