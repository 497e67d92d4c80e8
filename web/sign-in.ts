import { html, type Html } from './html';
import { refusal } from './layout';

/** The pages of a browser that is not signed in: sign-in, set a password, and what went wrong. */
export function signInForm(q: { csrf: string; next: string; email?: string; error?: string }): Html {
  return html`${refusal(q.error)}
    <form method="post" action="/sign-in" class="panel">
      <input type="hidden" name="csrf" value="${q.csrf}" />
      <input type="hidden" name="next" value="${q.next}" />
      <div class="field">
        <label for="email">E-mail address</label>
        <input
          type="email"
          id="email"
          name="email"
          autocomplete="username"
          required
          value="${q.email ?? ''}"
        />
      </div>
      <div class="field">
        <label for="password">Password</label>
        <input type="password" id="password" name="password" autocomplete="current-password" required />
      </div>
      <button type="submit">Sign in</button>
    </form>
    <p class="hint">No password yet? Ask an admin of your organization for an invitation.</p>`;
}

export function setPasswordForm(q: { csrf: string; action: string; email: string; error?: string }): Html {
  return html`${refusal(q.error)}
    <p>
      You are setting the password of <strong>${q.email}</strong>. Use at least 12 characters; a few words
      make a good one.
    </p>
    <form method="post" action="${q.action}" class="panel">
      <input type="hidden" name="csrf" value="${q.csrf}" />
      <input type="text" name="username" autocomplete="username" value="${q.email}" hidden />
      <div class="field">
        <label for="password">New password</label>
        <input
          type="password"
          id="password"
          name="password"
          autocomplete="new-password"
          required
          minlength="12"
        />
      </div>
      <div class="field">
        <label for="confirm">The same password again</label>
        <input
          type="password"
          id="confirm"
          name="confirm"
          autocomplete="new-password"
          required
          minlength="12"
        />
      </div>
      <button type="submit">Set password and sign in</button>
    </form>`;
}

/** An error page: what happened, and what to do next. */
export function problem(q: { message: string; next?: Html }): Html {
  return html`<p>${q.message}</p>
    ${q.next ?? ''}`;
}
