import { html, type Html } from './html';

/**
 * The page shell: a skip link, the account and user, the navigation of the pages this user may open, and the
 * sign-out form. No script, no inline style: the CSP forbids both.
 */
export interface NavItem {
  label: string;
  href: string;
  current: boolean;
}

export function shell(q: {
  title: string;
  body: Html;
  nav?: readonly NavItem[];
  who?: { email: string; org: string; account: string; csrf: string };
}): string {
  const nav = q.nav?.length
    ? html`<nav aria-label="Console">
        <ul>
          ${q.nav.map(
            (n) =>
              html`<li><a href="${n.href}" ${n.current ? html`aria-current="page"` : ''}>${n.label}</a></li>`,
          )}
        </ul>
      </nav>`
    : '';
  const who = q.who
    ? html`<div class="who">
        <span>${q.who.email} · ${q.who.org}${q.who.org === q.who.account ? '' : ` (${q.who.account})`}</span>
        <form method="post" action="/sign-out">
          <input type="hidden" name="csrf" value="${q.who.csrf}" />
          <button type="submit" class="link">Sign out</button>
        </form>
      </div>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${q.title} · orgtally</title>
        <link rel="stylesheet" href="/assets/console.css" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/">orgtally</a>
          ${who}
        </header>
        ${nav}
        <main id="main">
          <h1>${q.title}</h1>
          ${q.body}
        </main>
      </body>
    </html> `.value;
}

/** The error summary at the top of a refused form (GOV.UK's pattern): what was wrong and where. */
export function refusal(error: string | undefined): Html {
  if (!error) return html``;
  return html`<div class="error-summary" role="alert">
    <h2>There is a problem</h2>
    <p>${error}</p>
  </div>`;
}

export function notice(text: string | undefined): Html {
  if (!text) return html``;
  return html`<div class="notice" role="status"><p>${text}</p></div>`;
}

/** A hidden CSRF field: every form has one. */
export const csrfField = (token: string): Html => html`<input type="hidden" name="csrf" value="${token}" />`;
