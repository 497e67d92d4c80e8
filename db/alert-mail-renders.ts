import type { Knex } from 'knex';

/** An alert notice's mail as first composed (owner of alert_mail_renders). */
export interface AlertMailRender {
  subject: string;
  html: string;
  text: string;
  chart_png: Buffer | null;
}

/**
 * The stored render of the event, or `render()` stored as it: the mail names a price, an estimate and a series
 * that later data or a spec change would move, and every recipient and retry must get the first bytes.
 * Concurrent first renders converge on the one stored first.
 */
export async function alertMailRender(
  db: Knex,
  eventId: string,
  render: () => Promise<AlertMailRender>,
): Promise<AlertMailRender> {
  const cols = ['subject', 'html', 'text', 'chart_png'];
  const stored = await db('alert_mail_renders').where({ event_id: eventId }).first(cols);
  if (stored) return stored;
  await db('alert_mail_renders')
    .insert({ event_id: eventId, ...(await render()) })
    .onConflict('event_id')
    .ignore();
  return db('alert_mail_renders').where({ event_id: eventId }).first(cols);
}
