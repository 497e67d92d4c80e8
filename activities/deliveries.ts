import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { getAlertEvent } from '../db/alert-reads';
import { sendOnce, type AttemptMemo, type Delivery } from '../db/deliveries';
import { renderAlertMail } from '../domain/alert-mail';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { MailError, sendMail, type OutgoingMail } from '../infra/mail';
import { renderVersion } from './month-end';
import type { FileModes } from '../domain/file-modes';
import { asActivity, withHeartbeat } from './failures';

export interface DeliveryDeps {
  db: Knex;
  outputDir: string;
  fileModes: FileModes;
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Replaceable in tests; the SMTP transport otherwise. */
  send?: (smtpUrl: string, mail: OutgoingMail) => Promise<{ response: string }>;
}

export interface DeliveryResult {
  id: string;
  recipient: string;
  status: 'sent';
  alreadySent: boolean;
  attempts: number;
  response: string;
}

/** Builds the message a ledger row stands for (always the same bytes for the same row). */
async function compose(deps: DeliveryDeps, d: Delivery): Promise<OutgoingMail> {
  if (d.kind === 'alert') return composeAlert(deps, d);
  if (d.kind !== 'month_end')
    throw new OrgtallyError(ErrorType.InvalidInput, `cannot compose a ${String(d.kind)} mail`);
  const ref = d.reference as { month: string; version: number };
  // The mail as rendered when the version was first closed; files a worker on another host lacks are written
  // again from the version's rows (same bytes).
  const r = await renderVersion(deps.db, deps.outputDir, { accountId: d.account_id, ...ref }, deps.fileModes);
  return {
    from: deps.mailFrom,
    to: d.recipient,
    subject: r.subject,
    text: r.text,
    html: r.html,
    messageId: d.message_id,
    date: new Date(r.version.computed_at),
    attachments: r.files.map((f) => ({
      filename: f.name,
      path: f.path,
      contentType: f.name.endsWith('.csv')
        ? 'text/csv; charset=utf-8'
        : 'text/tab-separated-values; charset=utf-8',
    })),
    headers: { 'X-Orgtally-Delivery': d.dedupe_key },
  };
}

async function composeAlert(deps: DeliveryDeps, d: Delivery): Promise<OutgoingMail> {
  const e = await getAlertEvent(deps.db, String((d.reference as { eventId: string }).eventId));
  const details = e.details as {
    rule: Record<string, unknown>;
    dataCompleteThrough?: string;
    timezone?: string;
    latenessHours?: number;
  };
  const mail = renderAlertMail({
    accountId: e.account_id,
    ruleId: e.rule_id,
    kind: e.kind,
    notify: e.notify,
    scopeKey: e.scope_key,
    window: e.window,
    asOf: e.as_of.toISOString(),
    message: e.message,
    rule: details.rule,
    ...(details.dataCompleteThrough ? { dataCompleteThrough: details.dataCompleteThrough } : {}),
    ...(details.timezone ? { timezone: details.timezone } : {}),
    ...(details.latenessHours !== undefined ? { latenessHours: details.latenessHours } : {}),
  });
  return {
    from: deps.mailFrom,
    to: d.recipient,
    ...mail,
    messageId: d.message_id,
    date: new Date(e.created_at),
    attachments: [],
    headers: { 'X-Orgtally-Delivery': d.dedupe_key },
  };
}

export function deliveryActivities(deps: DeliveryDeps) {
  const send = deps.send ?? sendMail;
  const memo: AttemptMemo = new Map();
  return {
    /**
     * Sends one ledger row, once. Transient SMTP failures (refused connection, 4xx) throw a retryable failure so
     * Temporal retries with backoff; a permanent one (5xx) is recorded in the ledger and not retried.
     */
    sendDelivery: (input: { deliveryId: string }): Promise<DeliveryResult> =>
      asActivity(async () => {
        const smtpUrl = deps.smtpUrl;
        const outcome = await withHeartbeat(() =>
          sendOnce(
            deps.db,
            input.deliveryId,
            async (d) => {
              const mail = await compose(deps, d);
              return {
                subject: mail.subject,
                transmit: () => {
                  if (!smtpUrl) throw new MailError('SMTP_URL is not set: no mail can be sent', true, '');
                  return send(smtpUrl, mail);
                },
              };
            },
            memo,
          ),
        );
        const row = await deps.db('deliveries').where({ id: input.deliveryId }).first('recipient');
        if (outcome.status === 'sent') {
          return {
            id: input.deliveryId,
            recipient: row.recipient,
            status: 'sent',
            alreadySent: outcome.alreadySent,
            attempts: outcome.attempts,
            response: outcome.response,
          };
        }
        throw ApplicationFailure.create({
          message: `delivery ${input.deliveryId} to ${row.recipient}: ${outcome.error}`,
          type: outcome.permanent ? ErrorType.PermanentDeliveryFailure : ErrorType.TransientDeliveryFailure,
          nonRetryable: outcome.permanent,
          details: [{ response: outcome.response, attempts: outcome.attempts }],
        });
      }),
  };
}
