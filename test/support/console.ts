import { issueLink } from '../../db/login-tokens';
import { apiFixture, USERS, type ApiFixture } from './api';

/**
 * The API fixture, plus signed-in browsers-without-a-browser: `signIn(user)` redeems a one-time sign-in link and
 * returns the session cookie; `page(user, path)` fetches a page as that user. The users are the API fixture's
 * (`acme/admin`, `client-a/finance`, …).
 */
export interface ConsoleFixture extends ApiFixture {
  signIn(user: string): Promise<string>;
  page(user: string, path: string): Promise<{ status: number; html: string; headers: Headers }>;
  /** A form's CSRF token, read from a page as the browser would. */
  csrfOf(html: string): string;
  post(
    cookie: string,
    path: string,
    form: Record<string, string>,
  ): Promise<{ status: number; html: string; headers: Headers }>;
}

export async function linkFor(
  f: ApiFixture,
  user: string,
  kind: 'login' | 'invite' = 'login',
  next = '/',
): Promise<string> {
  const u = USERS[user];
  if (!u) throw new Error(`no test user ${user}`);
  const issued = await f.db.transaction((trx) =>
    issueLink(trx, { accountId: 'acme', email: u.email, kind, next, ttlMs: 3_600_000, actor: 'test' }),
  );
  return `${f.url}/${kind}/${issued.token}`;
}

export async function consoleFixture(opts: Parameters<typeof apiFixture>[0] = {}): Promise<ConsoleFixture> {
  const f = await apiFixture(opts);
  const cookies = new Map<string, string>();
  const signIn = async (user: string) => {
    const have = cookies.get(user);
    if (have) return have;
    const res = await fetch(await linkFor(f, user), { redirect: 'manual' });
    if (res.status !== 303) throw new Error(`sign-in link for ${user}: ${res.status} ${await res.text()}`);
    const set = res.headers.getSetCookie().find((c) => c.startsWith('ot_session='));
    if (!set) throw new Error(`sign-in link for ${user}: no session cookie`);
    const cookie = set.split(';')[0] as string;
    cookies.set(user, cookie);
    return cookie;
  };
  const get = async (cookie: string, path: string) => {
    const res = await fetch(`${f.url}${path}`, { headers: { cookie }, redirect: 'manual' });
    return { status: res.status, html: await res.text(), headers: res.headers };
  };
  return {
    ...f,
    signIn,
    page: async (user, path) => get(await signIn(user), path),
    csrfOf: (html) => {
      const m = /name="csrf" value="([^"]+)"/.exec(html);
      if (!m) throw new Error('no CSRF field on the page');
      return m[1] as string;
    },
    post: async (cookie, path, form) => {
      const res = await fetch(`${f.url}${path}`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
        redirect: 'manual',
      });
      return { status: res.status, html: await res.text(), headers: res.headers };
    },
  };
}

/** A page's HTML with the whitespace between tags gone, and an element's text as a reader sees it. */
export const flat = (s: string) => s.replace(/>\s+</g, '><');
export const textOf = (s: string) =>
  s
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** A table's body rows, each as its cells' text (the row header first). */
export function rowsOf(html: string, id: string): string[][] {
  const table = new RegExp(`<table id="${id}">(.*?)</table>`, 's').exec(flat(html))?.[1];
  if (table === undefined) throw new Error(`no table ${id}`);
  const body = /<tbody>(.*?)<\/tbody>/s.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>(.*?)<\/tr>/gs)].map((r) =>
    [...(r[1] as string).matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/gs)].map((c) => textOf(c[1] as string)),
  );
}

/** Mail sent after the answer (a viewer's code) arrives a moment later: wait for it, up to a few seconds. */
export async function mailTo<T extends { to: string[] }>(
  messages: readonly T[],
  to: string,
  count = 1,
): Promise<T[]> {
  for (let waited = 0; ; waited += 50) {
    const got = messages.filter((m) => m.to.includes(to));
    if (got.length >= count || waited > 5_000) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
}
