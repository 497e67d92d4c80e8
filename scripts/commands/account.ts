import type { Command } from 'commander';
import fs from 'node:fs';
import { applyAccountSpec } from '../../db/accounts';
import { validateSpec } from '../../domain/spec';
import { cliActor, withDb } from '../context';

export function registerAccount(program: Command): void {
  const account = program.command('account').description('account specs');
  account
    .command('apply <spec>')
    .description('make the account match a JSON spec (idempotent; prints exactly what changed)')
    .option('--dry-run', 'check everything and list what would change; write nothing')
    .action(async (file: string, opts: { dryRun?: boolean }) => {
      let json: unknown;
      try {
        json = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        throw new Error(`cannot read ${file} as JSON: ${(err as Error).message}`, { cause: err });
      }
      const v = validateSpec(json);
      if (!v.ok) {
        console.error(`${file}: ${v.issues.length} problem(s); nothing was written`);
        for (const i of v.issues) console.error(`  ${i.path}: ${i.message}`);
        process.exitCode = 1;
        return;
      }
      const result = await withDb((db) =>
        applyAccountSpec(db, v.spec, { asOfMs: Date.now(), dryRun: opts.dryRun, actor: cliActor() }),
      );
      const would = opts.dryRun ? ' (dry run: would change, nothing written)' : '';
      if (!result.changes.length) console.log(`account ${result.accountId}: no changes`);
      else if (would) console.log(`${file}: valid${would}`);
      for (const c of result.changes) console.log(c);
    });
}
