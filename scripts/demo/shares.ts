import type { Knex } from 'knex';
import { buildServer } from '../../api/server';
import type { Config } from '../../infra/config';
import { sharedUrl } from '../../queries/share-json';
import { revokeSharedDashboard, shareDashboard, sharesInScope } from '../../queries/shares';
import { scopeOf } from '../../queries/scope';
import { log, step } from './log';

/**
 * A shared dashboard: client A's usage behind a link, as the parent would send it to the client. The previous
 * run's demo share is revoked first (its link was printed once and is gone). The page is fetched once to show
 * it renders, and the link is printed at the end beside the console's sign-in links.
 */
const TITLE = 'Client A — usage (demo share)';

export async function sharesPhase(db: Knex, config: Config, o: { port: number }): Promise<string> {
  step('A shared dashboard for client A');
  const base = config.publicUrl ?? `http://${config.httpHost}:${o.port}`;
  const scope = await scopeOf(db, 'acme', 'acme', {
    permissions: (await scopeOf(db, 'acme')).permissions,
    actor: 'cli:demo',
  });
  for (const s of await sharesInScope(db, scope))
    if (s.title === TITLE && s.state !== 'revoked') await revokeSharedDashboard(db, scope, s.id);
  const { share, token } = await shareDashboard(
    db,
    scope,
    { org: 'client-a', title: TITLE, expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString() },
    Date.now(),
  );
  const app = await buildServer({ db, rateLimit: { limit: config.apiRateLimit, periodSeconds: 60 } });
  try {
    const page = await app.inject({ method: 'GET', url: `/shared/${token}` });
    const rows =
      (/<table id="month-table">([\s\S]*?)<\/table>/.exec(page.body)?.[1] ?? '').match(/<tr>/g) ?? [];
    log(
      `shared ${share.org_name}'s dashboard (share ${share.id}, open link, expires ${share.expires_at.slice(0, 10)})`,
    );
    log(`GET /shared/<token>: ${page.statusCode}, ${Math.max(rows.length - 1, 0)} products month to date`);
  } finally {
    await app.close();
  }
  return [
    `client A's shared dashboard (no sign-in; shown once — \`orgtally dashboards rotate\` makes a new one):`,
    `  ${sharedUrl(base, token)}`,
  ].join('\n');
}
