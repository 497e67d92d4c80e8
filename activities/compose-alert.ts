import { alertMailData } from '../db/alert-mail-data';
import { alertMailRender } from '../db/alert-mail-renders';
import type { Delivery } from '../db/deliveries';
import { alertChart, renderAlertMail } from '../domain/alert-mail';
import { CHART_SIZE } from '../domain/alert-mail-chart';
import { chartPng } from '../infra/chart-png';
import type { MailAttachment } from '../infra/mail';
import type { DeliveryDeps, MailBody } from './deliveries';

/**
 * The mail of one alert notice, from its event row and the rows it names, rendered once and stored (every
 * recipient and retry gets the first bytes): the chart goes inline as a PNG (mail clients show no SVG),
 * referenced by a cid derived from the event.
 */
export async function composeAlert(deps: DeliveryDeps, d: Delivery): Promise<MailBody> {
  const eventId = String((d.reference as { eventId: string }).eventId);
  const cid = `alert-${eventId}-chart@orgtally`;
  const r = await alertMailRender(deps.db, eventId, async () => {
    const { input } = await alertMailData(deps.db, eventId);
    const chart = alertChart(input);
    const mail = renderAlertMail(input, chart ? { cid, ...CHART_SIZE, alt: chart.alt } : undefined);
    return { ...mail, chart_png: chart ? chartPng(chart.option, CHART_SIZE) : null };
  });
  const event = await deps.db('alert_events').where({ id: eventId }).first('created_at');
  const attachments: MailAttachment[] = r.chart_png
    ? [{ filename: 'usage-chart.png', contentType: 'image/png', content: r.chart_png, cid }]
    : [];
  return {
    subject: r.subject,
    text: r.text,
    html: r.html,
    date: new Date(event.created_at),
    attachments,
  };
}
