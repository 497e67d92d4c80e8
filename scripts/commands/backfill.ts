import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { previewBackfill, type BackfillPreview } from '../../db/backfill';
import {
  BACKFILL_STEPS,
  progressQuery,
  type BackfillProgress,
  type BackfillResult,
  type BackfillStep,
} from '../../workflows/backfill';
import { renderProgress } from '../lib/progress';
import { cliActor, log, withClient, withDb } from '../context';
import { audit } from '../../db/audit';
import { table } from '../lib/output';
import { workflowIds } from '../../domain/workflow-ids';
import { startOrAttach } from '../../client/start';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function parseSteps(text: string): BackfillStep[] {
  const steps = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = steps.filter((s) => !(BACKFILL_STEPS as readonly string[]).includes(s));
  if (bad.length || !steps.length)
    throw new Error(`--steps: ${bad.join(', ') || '(none)'}: choose from ${BACKFILL_STEPS.join(', ')}`);
  return steps as BackfillStep[];
}

function printPreview(p: BackfillPreview): void {
  const changing = p.days.filter((d) => d.wouldChange);
  console.log(
    `dry run: ${p.accountId} ${p.from}..${p.to}, steps ${p.steps.join(', ')}: nothing was written ` +
      `(the work below was computed in a transaction that was rolled back)`,
  );
  const count = (state: string) => p.days.filter((d) => d.state === state).length;
  console.log(
    `days: ${p.days.length} — ${count('attributed')} attributed and unchanged, ${count('late data pending')} with ` +
      `late data, ${count('never attributed')} never attributed` +
      (changing.length ? `; would change: ${changing.map((d) => d.day).join(', ')}` : '; none would change'),
  );
  if (p.monthsNotEnded.length)
    console.log(`not closed (the month has not ended): ${p.monthsNotEnded.join(', ')}`);
  if (p.outsideDays.length)
    console.log(`the month-end would also attribute, outside the range: ${p.outsideDays.join(', ')}`);
  console.log(
    table(
      p.months.map((m) => ({
        month: m.month,
        current: m.current ? `v${m.current.version} ${m.current.status}` : '(not closed)',
        would: m.outcome === 'created' ? `restate → v${m.newVersion}` : m.outcome,
        'finance mail': m.mailTo.length ? `re-sent to ${m.mailTo.join(', ')}` : 'none',
        trends: m.trends,
      })),
    ),
  );
  for (const m of p.months.filter((x) => x.changes.length)) {
    console.log(`${m.month} would change:`);
    for (const c of m.changes)
      console.log(`  ${c.usage_type}${c.public_id ? ` ${c.public_id}` : ''} ${c.field}: ${c.from} → ${c.to}`);
  }
}

/**
 * Polls the progress query and draws the bar (stderr; periodic lines when it is not a terminal) until the
 * backfill ends; Ctrl-C detaches (the run goes on). A caller with its own Ctrl-C handling (the demo, which stops
 * its stack) passes `detachOnInterrupt: false`.
 */
export async function watch(
  handle: WorkflowHandle,
  id: string,
  opts: { detachOnInterrupt?: boolean } = {},
): Promise<BackfillResult> {
  const tty = process.stderr.isTTY === true;
  let detached = false;
  const onInt = () => {
    detached = true;
  };
  if (opts.detachOnInterrupt !== false) process.once('SIGINT', onInt);
  let lastLogged = -1;
  let lastLine = 0;
  const draw = (p: BackfillProgress) => {
    const line = renderProgress(p, Date.now());
    if (tty) process.stderr.write(`\r\x1b[2K${line}`);
    else if (p.done !== lastLogged && (p.finished || Date.now() - lastLine > 5_000 || p.done === p.total)) {
      log(line);
      lastLogged = p.done;
      lastLine = Date.now();
    }
  };
  try {
    const result = handle.result() as Promise<BackfillResult>;
    let finished = false;
    void result.then(
      () => (finished = true),
      () => (finished = true),
    );
    while (!finished && !detached) {
      try {
        draw(await handle.query(progressQuery));
      } catch {
        // between runs (continue-as-new) or not started yet: the next poll answers
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    if (detached) {
      if (tty) process.stderr.write('\n');
      log(`detached; the backfill goes on. Re-attach: orgtally backfill status ${id}`);
      process.exit(130);
    }
    const r = await result;
    draw(await handle.query(progressQuery).catch(() => ({ ...finalProgress(r) })));
    if (tty) process.stderr.write('\n');
    return r;
  } finally {
    process.removeListener('SIGINT', onInt);
  }
}

const finalProgress = (r: BackfillResult): BackfillProgress => ({
  total: r.total,
  done: r.done,
  failed: r.failed,
  running: [],
  failures: r.failures,
  startedAtMs: Date.now(),
  runs: r.runs,
  finished: true,
});

function report(id: string, r: BackfillResult): void {
  console.log(
    `${id}: ${r.done}/${r.total} units done in ${r.runs} run(s), ${r.failed} failed` +
      (r.failed ? '' : ' — finance is mailed only for months whose figures changed (see `deliveries list`)'),
  );
  for (const f of r.failures) console.log(`  failed: ${f.unit}: ${f.error}`);
  if (r.failed) process.exitCode = 1;
}

async function attach(client: Client, id: string): Promise<void> {
  const handle = client.workflow.getHandle(id);
  // A finished backfill needs no worker: its result is in Temporal. A running one answers the progress query
  // through a worker.
  const { status } = await handle.describe();
  if (status.name !== 'RUNNING') {
    if (status.name !== 'COMPLETED') throw new Error(`${id} ended ${status.name.toLowerCase()}`);
    report(id, (await handle.result()) as BackfillResult);
    return;
  }
  report(id, await watch(handle, id));
}

export function registerBackfill(program: Command): void {
  const cmd = program
    .command('backfill')
    .description(
      'recompute a range of days and months (attribution, month-end, trends) through Temporal, with a progress bar',
    )
    .option('--account <id>', 'account id')
    .option('--from <day>', 'first day, YYYY-MM-DD (account time zone)')
    .option('--to <day>', 'last day, inclusive')
    .option('--steps <list>', `comma-separated: ${BACKFILL_STEPS.join(',')}`, BACKFILL_STEPS.join(','))
    .option('--concurrency <n>', 'days attributed at once', '4')
    .option('--dry-run', 'print what would be recomputed and what would change; write nothing')
    .option('--no-wait', 'start (or find) the backfill and return; watch it with `backfill status <id>`')
    .action(
      async (o: {
        account?: string;
        from?: string;
        to?: string;
        steps: string;
        concurrency: string;
        dryRun?: boolean;
        wait: boolean;
      }) => {
        if (!o.account || !o.from || !o.to) throw new Error('backfill needs --account, --from and --to');
        const { account, from, to } = { account: o.account, from: o.from, to: o.to };
        if (!DAY.test(o.from) || !DAY.test(o.to) || o.to < o.from)
          throw new Error(`--from ${o.from} --to ${o.to}: two days YYYY-MM-DD, in order`);
        const steps = parseSteps(o.steps);
        const concurrency = Number(o.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
          throw new Error('--concurrency must be an integer from 1 to 64');
        if (o.dryRun) {
          const p = await withDb((db) =>
            previewBackfill(db, {
              accountId: o.account as string,
              from: o.from as string,
              to: o.to as string,
              steps,
              asOf: new Date().toISOString(),
            }),
          );
          printPreview(p);
          return;
        }
        const id = workflowIds.backfill(o.account, o.from, o.to);
        await withClient(async (client, config) => {
          await startOrAttach(client, 'backfill', {
            taskQueue: config.taskQueue,
            workflowId: id,
            args: [{ accountId: account, from, to, steps, concurrency }],
            log,
            onStarted: () =>
              withDb((db) =>
                audit(db, {
                  accountId: account,
                  actor: cliActor(),
                  action: 'backfill.start',
                  target: `range:${from}..${to}`,
                  after: { workflow_id: id, steps, concurrency },
                }),
              ),
          });
          if (!o.wait) {
            console.log(id);
            log(`watch it: orgtally backfill status ${id}`);
            return;
          }
          await attach(client, id);
        });
      },
    );
  cmd
    .command('status <id>')
    .description('attach to a backfill (running or finished) and show its progress bar and result')
    .action(async (id: string) => withClient((client) => attach(client, id)));
}
