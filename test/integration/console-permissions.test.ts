import { denial, MANAGED_ROLES, type Permission } from '../../domain/access';
import { ACTIONS, PAGES } from '../../web/pages';
import { CUSTOM_ROLES, USERS } from '../support/api';
import { consoleFixture, type ConsoleFixture } from '../support/console';

/**
 * The console's permission matrix, generated from the page table: every page and every form × every test user
 * (root org, child, grandchild, a sibling subtree; managed and custom roles) → exactly what domain/access.ts
 * says: the page, or a 404 (a page one may not open does not exist for one), and a navigation that lists
 * precisely the pages the user may open.
 */
let f: ConsoleFixture;
beforeAll(async () => {
  f = await consoleFixture();
}, 120_000);
afterAll(() => f?.close());

/** One URL per page (the table's paths with sample parameters). */
const SAMPLE: Record<string, string> = {
  '/attribution/files/:day/:name': '/attribution/files/2026-10-03/daily_infra_hosts_2026-10-03.tsv',
  '/reports/:month/v/:version/files/:name': '/reports/2026-10/v/1/files/summary_team_2026-10_v1.tsv',
};

const callerOf = (user: string) => {
  const u = USERS[user]!;
  const permissions = new Set<Permission>(
    (MANAGED_ROLES[u.role] ?? CUSTOM_ROLES[u.role as keyof typeof CUSTOM_ROLES]) as readonly Permission[],
  );
  return { permissions, parentLevel: u.org === 'acme' };
};

describe('the console permission matrix', () => {
  it('covers every page of the table with a URL', () => {
    expect(PAGES.filter((p) => p.path.includes(':') && !SAMPLE[p.path]).map((p) => p.path)).toEqual([]);
  });

  it.each(Object.keys(USERS))('gives %s exactly the pages and navigation its roles allow', async (user) => {
    const caller = callerOf(user);
    const seen: string[] = [];
    const want: string[] = [];
    for (const p of PAGES) {
      const url = SAMPLE[p.path] ?? p.path;
      const res = await f.page(user, url);
      seen.push(`${url} ${res.status}`);
      want.push(`${url} ${denial(caller, p.need) ? 404 : 200}`);
    }
    expect(seen).toEqual(want);
    const home = await f.page(user, '/');
    const first = PAGES.find((p) => p.nav && !denial(caller, p.need));
    expect(home.status).toBe(first ? 303 : 200);
    if (first) expect(home.headers.get('location')).toBe(first.path);
    const nav = [
      ...(first ? (await f.page(user, first.path)).html : home.html).matchAll(/<li><a href="([^"]+)"/g),
    ].map((m) => m[1]);
    expect(nav).toEqual(PAGES.filter((p) => p.nav && !denial(caller, p.need)).map((p) => p.path));
  });

  it.each(Object.keys(USERS))(
    'refuses %s every form its roles do not allow, as a missing page',
    async (user) => {
      const caller = callerOf(user);
      const cookie = await f.signIn(user);
      // Any signed-in page carries the session's CSRF token (the sign-out form), so only the permission refuses.
      const first = PAGES.find((p) => p.nav && !denial(caller, p.need));
      const csrf = f.csrfOf((await f.page(user, first?.path ?? '/')).html);
      for (const a of ACTIONS.filter((x) => denial(caller, x.need))) {
        const res = await f.post(cookie, a.path, { csrf });
        expect(`${a.path} ${res.status}`).toBe(`${a.path} 404`);
      }
    },
  );
});
