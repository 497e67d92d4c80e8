import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { sendOnce, type AttemptMemo, type Delivery, type DeliveryKind } from '../db/deliveries';
import { ErrorType, OrgtallyError } from '../domain/errors';
import { MailError, sendMail, type OutgoingMail } from '../infra/mail';
import { composeAlert } from './compose-alert';
import { composeMonthEnd } from './compose-month-end';
import { composeStatement } from './compose-statement';
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

/** What a kind's composer makes; the envelope (from, to, Message-ID, ledger header) is the ledger row's. */
export type MailBody = Omit<OutgoingMail, 'from' | 'to' | 'messageId' | 'headers'>;
type Composer = (deps: DeliveryDeps, d: Delivery) => Promise<MailBody>;

/** Builds the message a ledger row stands for (always the same bytes for the same row), one module per kind. */
const COMPOSERS: Partial<Record<DeliveryKind, Composer>> = {
  month_end: composeMonthEnd,
  alert: composeAlert,
  statement: composeStatement,
};

export async function compose(deps: DeliveryDeps, d: Delivery): Promise<OutgoingMail> {
  const composer = COMPOSERS[d.kind];
  if (!composer) throw new OrgtallyError(ErrorType.InvalidInput, `cannot compose a ${String(d.kind)} mail`);
  return {
    from: deps.mailFrom,
    to: d.recipient,
    ...(await composer(deps, d)),
    messageId: d.message_id,
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
