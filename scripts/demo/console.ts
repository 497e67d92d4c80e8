import type { Knex } from 'knex';
import { buildServer } from '../../api/server';
import { issueLink } from '../../db/login-tokens';
import type { Config } from '../../infra/config';
import { PEOPLE } from './access';
import { log, step } from './log';

/**
 * The web console: one page fetched as the parent's admin to show it renders the demo's figures, then a one-time
 * sign-in link for each of the three people, printed last. With --keep the console is the background
 * `orgtally serve`; without, `npm run orgtally -- serve` starts it on the same port and the links work there.
 */
const LANDING: Record<string, string> = {
  'admin@acme.example': '/usage',
  'finance-team@acme.example': '/cost',
  'admin@client-a.example': '/usage',
};

export async function consolePhase(
  db: Knex,
  config: Config,
  o: { port: number; keep: boolean },
): Promise<string> {
  step('The web console');
  const base = config.publicUrl ?? `http://${config.httpHost}:${o.port}`;
  const link = async (email: string, next: string, hours: number) =>
    db.transaction((trx) =>
      issueLink(trx, {
        accountId: 'acme',
        email,
        kind: 'login',
        next,
        ttlMs: hours * 3_600_000,
        actor: 'cli:demo',
      }),
    );
  // The check runs on a server of its own (the background one, with --keep, may not be up on every machine).
  const app = await buildServer({ db, rateLimit: { limit: config.apiRateLimit, periodSeconds: 60 } });
  try {
    const check = await link('admin@acme.example', '/usage', 1);
    const signIn = await app.inject({ method: 'GET', url: `/login/${check.token}` });
    const cookie = String(signIn.headers['set-cookie'] ?? '').split(';')[0] as string;
    const page = await app.inject({ method: 'GET', url: '/usage', headers: { cookie } });
    const title = /<h1>([^<]*)<\/h1>/.exec(page.body)?.[1];
    const products = (page.body.match(/<tr>\s*<th scope="row">/g) ?? []).length;
    log(
      `GET /usage as admin@acme.example: ${page.statusCode} (“${title}”, ${page.body.length.toLocaleString('en-US')} bytes of HTML, ${products} table rows)`,
    );
  } finally {
    await app.close();
  }
  const hours = o.keep ? 12 : 1;
  const lines = [`orgtally console: ${base}/`, `one-time sign-in links (valid ${hours} h, once each):`];
  for (const p of PEOPLE) {
    const l = await link(p.email, LANDING[p.email] ?? '/', hours);
    lines.push(`  ${p.who.padEnd(36)} ${base}/login/${l.token}`);
  }
  lines.push(
    o.keep
      ? '(the console keeps running; `orgtally dev down` stops it)'
      : `(the demo stops its stack when it ends: \`npm run demo -- --keep\` leaves the console up; or \`npm run orgtally -- dev up\`, then \`npm run orgtally -- serve --port ${o.port}\`. More links: \`npm run orgtally -- users login-link --account acme --email <e-mail>\`)`,
  );
  log('sign-in links issued; printed at the end');
  return lines.join('\n');
}
