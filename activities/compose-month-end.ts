import type { Delivery } from '../db/deliveries';
import { CHART_CID } from '../domain/month-end-mail';
import type { DeliveryDeps, MailBody } from './deliveries';
import { renderVersion } from './month-end';

/** The finance mail of a month-end version: the stored render, its files attached. */
export async function composeMonthEnd(deps: DeliveryDeps, d: Delivery): Promise<MailBody> {
  const ref = d.reference as { month: string; version: number };
  // The mail as rendered when the version was first closed; files a worker on another host lacks are written
  // again from the version's rows (same bytes).
  const r = await renderVersion(deps.db, deps.outputDir, { accountId: d.account_id, ...ref }, deps.fileModes);
  return {
    subject: r.subject,
    text: r.text,
    html: r.html,
    date: new Date(r.version.computed_at),
    attachments: [
      ...(r.chart_png
        ? [{ filename: 'cost-per-month.png', contentType: 'image/png', content: r.chart_png, cid: CHART_CID }]
        : []),
      ...r.files.map((f) => ({
        filename: f.name,
        path: f.path,
        contentType: f.name.endsWith('.csv')
          ? 'text/csv; charset=utf-8'
          : 'text/tab-separated-values; charset=utf-8',
      })),
    ],
  };
}
