import { csrfField, refusal } from '../layout';
import { html, type Html } from '../html';

/**
 * The frame of a shared dashboard's pages: no navigation, no account, nothing of the console — the viewer has no
 * user — and the same stylesheet and CSP as the console (no script).
 */
export function sharedShell(q: { title: string; body: Html; by?: string }): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <title>${q.title}</title>
        <link rel="stylesheet" href="/assets/console.css" />
      </head>
      <body>
        <header class="top">
          <span class="brand">${q.by ? `${q.by} · usage` : 'Usage'}</span>
          <span class="who">Shared dashboard · read only</span>
        </header>
        <main id="main">
          <h1>${q.title}</h1>
          ${q.body}
        </main>
      </body>
    </html> `.value;
}

/**
 * One page for every link that opens nothing — unknown, paused, expired, revoked, or an address outside the
 * share: the same status, title and body, so none of them says which it is.
 */
export const NEUTRAL_TITLE = 'This link does not open a dashboard';
export const neutralPage = (): string =>
  sharedShell({
    title: NEUTRAL_TITLE,
    body: html`<p>
      The link may be mistyped, or the person who shared it may have paused or withdrawn it. Ask them for a
      new link.
    </p>`,
  });

export const tooManyPage = (windowMs: number): string =>
  sharedShell({
    title: 'Too many attempts',
    body: html`<p>
      Too many links that open nothing came from your address. Try again in ${Math.ceil(windowMs / 60_000)}
      minutes.
    </p>`,
  });

/** An invite-only share asks for the viewer's address first; a code is mailed if it is invited. */
export function emailForm(q: { action: string; csrf: string; error?: string; email?: string }): Html {
  return html`${refusal(q.error)}
    <p>
      This dashboard is shared with invited people only. Give your e-mail address and we will send you a code.
    </p>
    <form method="post" action="${q.action}" class="stack">
      ${csrfField(q.csrf)}
      <label for="email">E-mail address</label>
      <input id="email" name="email" type="email" autocomplete="email" required value="${q.email ?? ''}" />
      <button type="submit">Send me a code</button>
    </form>`;
}

export function codeForm(q: {
  action: string;
  csrf: string;
  email: string;
  error?: string;
  mailed: boolean;
}): Html {
  return html`${refusal(q.error)}
    <p>
      ${
        q.mailed
          ? `If ${q.email} is invited, a code is on its way to it. It works once, for 15 minutes.`
          : 'This server cannot send mail (no SMTP is configured): ask the person who shared this dashboard.'
      }
    </p>
    <form method="post" action="${q.action}" class="stack">
      ${csrfField(q.csrf)}
      <input type="hidden" name="email" value="${q.email}" />
      <label for="code">Code</label>
      <input
        type="text"
        id="code"
        name="code"
        inputmode="numeric"
        autocomplete="one-time-code"
        required
        pattern="[0-9]{8}"
      />
      <button type="submit">Open the dashboard</button>
    </form>`;
}
