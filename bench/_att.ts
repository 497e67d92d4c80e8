import { createDb } from '/work/main/infra/db';
import { attributeDay } from '/work/main/db/attribution';
import { exportDay, reconcileDay } from '/work/main/db/attribution-files';
import { readStack } from '/work/main/infra/stack';
import { loadConfig } from '/work/main/infra/config';
(async () => {
  const db = createDb(readStack(loadConfig())!.postgres!.url);
  let t = Date.now();
  const r = await attributeDay(db, { accountId: 'acme', day: process.argv[2] ?? '2026-10-15' });
  console.log(r, Date.now() - t, 'ms');
  t = Date.now();
  const files = await exportDay(db, { accountId: 'acme', day: r.day, outputDir: '/tmp/attout' });
  console.log(files.map(f => [f.product, f.rows, f.sha256.slice(0, 8)]), Date.now() - t);
  t = Date.now();
  console.log(await reconcileDay(db, { accountId: 'acme', day: r.day, files }), Date.now() - t);
  console.log((await db.raw('select count(*) from attribution_pending')).rows);
  await db.destroy();
})().catch(e => { console.error(e); process.exit(1); });
