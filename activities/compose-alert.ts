import { alertMailData } from '../db/alert-mail-data';
import type { Delivery } from '../db/deliveries';
import { alertChart, renderAlertMail } from '../domain/alert-mail';
import { CHART_SIZE } from '../domain/alert-mail-chart';
import { chartPng } from '../infra/chart-png';
import type { MailAttachment, OutgoingMail } from '../infra/mail';
import type { DeliveryDeps } from './deliveries';

/**
 * The mail of one alert notice, from its event row and the rows it names (the same bytes for the same rows):
 * the chart goes inline as a PNG (mail clients show no SVG), referenced by a cid derived from the event.
 */
export async function composeAlert(deps: DeliveryDeps, d: Delivery): Promise<OutgoingMail> {
  const { event, input } = await alertMailData(deps.db, String((d.reference as { eventId: string }).eventId));
  const chart = alertChart(input);
  const cid = `alert-${event.id}-chart@orgtally`;
  const mail = renderAlertMail(input, chart ? { cid, ...CHART_SIZE, alt: chart.alt } : undefined);
  const attachments: MailAttachment[] = chart
    ? [
        {
          filename: 'usage-chart.png',
          contentType: 'image/png',
          content: chartPng(chart.option, CHART_SIZE),
          cid,
        },
      ]
    : [];
  return {
    from: deps.mailFrom,
    to: d.recipient,
    ...mail,
    messageId: d.message_id,
    date: new Date(event.created_at),
    attachments,
    headers: { 'X-Orgtally-Delivery': d.dedupe_key },
  };
}
