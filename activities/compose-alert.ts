import { getAlertEvent } from '../db/alert-reads';
import type { Delivery } from '../db/deliveries';
import { renderAlertMail } from '../domain/alert-mail';
import type { OutgoingMail } from '../infra/mail';
import type { DeliveryDeps } from './deliveries';

/** The mail of one alert notice, from its event row (the same bytes for the same row). */
export async function composeAlert(deps: DeliveryDeps, d: Delivery): Promise<OutgoingMail> {
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
