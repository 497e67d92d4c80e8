import type { Command } from 'commander';

/** One example per command, shown under its --help (the account and months of examples/acme.json). */
const EXAMPLES: Record<string, string[]> = {
  'dev up': ['dev up'],
  'dev down': ['dev down'],
  'dev status': ['dev status'],
  'dev tools': ['dev tools'],
  'config check': ['config check'],
  migrate: ['migrate'],
  'account apply': ['account apply examples/acme.json --dry-run', 'account apply examples/acme.json'],
  ingest: ['ingest out/drop/usage_2026-11.ndjson --json', 'ingest partner.csv.gz --format csv'],
  'quarantine list': ['quarantine list --reason bad_value --limit 20'],
  worker: ['worker'],
  'run ingest-drop': ['run ingest-drop --wait'],
  'run attribution': [
    'run attribution --account acme --day 2026-11-20 --wait',
    'run attribution --account acme --pending',
  ],
  'run month-end': ['run month-end --account acme --month 2026-10 --wait'],
  'run trends': ['run trends --account acme --month 2026-10 --wait'],
  'run estimates': ['run estimates --account acme --wait'],
  'report attribution': ['report attribution --account acme --day 2026-11-20 --product infra_hosts'],
  'report month-end': [
    'report month-end --account acme --month 2026-10',
    'report month-end --account acme --month 2026-10 --rows totals --format csv',
  ],
  'report trends': ['report trends --account acme --month 2026-10 --org client-a --view billable'],
  'report summary': ['report summary --account acme --month 2026-11 --include-org-details'],
  'report estimates': [
    'report estimates --account acme',
    'report estimates --account acme --error --month 2026-10',
  ],
  'alerts list': ['alerts list --account acme --all'],
  'alerts history': ['alerts history --account acme --limit 10'],
  'deliveries list': ['deliveries list --account acme --status pending'],
  backfill: [
    'backfill --account acme --from 2026-09-01 --to 2026-10-31 --dry-run',
    'backfill --account acme --from 2026-09-01 --to 2026-10-31 --no-wait',
  ],
  'backfill status': ['backfill status backfill/acme/2026-09-01/2026-10-31'],
  'schedules apply': ['schedules apply --paused'],
  'schedules list': ['schedules list'],
  'schedules pause': ['schedules pause orgtally/acme/month-end --note "restating October"'],
  'schedules resume': ['schedules resume orgtally/acme/month-end'],
  'schedules trigger': ['schedules trigger orgtally/acme/estimates'],
  'schedules delete': ['schedules delete orgtally/acme/trends'],
  'roles create': ['roles create --account acme --name finance --permissions usage_read,billing_read'],
  'roles list': ['roles list --account acme', 'roles list --account acme --format json'],
  'roles delete': ['roles delete --account acme --name finance'],
  'users add': [
    'users add --account acme --email cfo@acme.example --org acme --role finance',
    'users add --account acme --email ops@client-a.example --org client-a --role standard --role finance',
  ],
  'users list': ['users list --account acme'],
  'users remove': ['users remove --account acme --email ops@client-a.example'],
  'users invite': [
    'users invite --account acme --email cfo@acme.example',
    'users invite --account acme --email ops@client-a.example --org client-a --role admin --next /usage',
  ],
  'users login-link': [
    'users login-link --account acme --email admin@acme.example --next "/usage?month=2026-10"',
  ],
  'keys create': [
    'keys create --user cfo@acme.example --name reporting --expires 90d',
    'keys create --user cfo@acme.example --scopes usage_read --json',
  ],
  'keys list': ['keys list --account acme --user cfo@acme.example'],
  'keys revoke': ['keys revoke --account acme --id 5f0c6a7e-3b1d-4e8a-9c2f-0d4b6e8a1c3f'],
  'dashboards share': [
    'dashboards share --account acme --org client-a --title "Client A usage" --expires 30d --lock env=prod',
    'dashboards share --account acme --org client-b --invite cto@client-b.example --show-cost --json',
  ],
  'dashboards list': [
    'dashboards list --account acme',
    'dashboards list --account acme --org client-a --json',
  ],
  'dashboards pause': ['dashboards pause 5f0c6a7e-3b1d-4e8a-9c2f-0d4b6e8a1c3f --account acme'],
  'dashboards resume': ['dashboards resume 5f0c6a7e-3b1d-4e8a-9c2f-0d4b6e8a1c3f --account acme'],
  'dashboards revoke': ['dashboards revoke 5f0c6a7e-3b1d-4e8a-9c2f-0d4b6e8a1c3f --account acme'],
  'dashboards rotate': ['dashboards rotate 5f0c6a7e-3b1d-4e8a-9c2f-0d4b6e8a1c3f --account acme --json'],
  'audit list': ['audit list --account acme --since 2026-12-01T00:00:00Z --limit 20'],
  serve: ['serve', 'serve --host 0.0.0.0 --port 8080'],
};

function path(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Finishes every command's help: required options say so, and each command with an action shows its examples.
 * Returns the commands that have an action but no example (a test keeps that list empty).
 */
export function finishHelp(program: Command): string[] {
  const missing: string[] = [];
  const walk = (cmd: Command) => {
    for (const o of cmd.options)
      if (o.mandatory && !o.description.endsWith('(required)')) o.description += ' (required)';
    const p = path(cmd);
    const ex = EXAMPLES[p];
    if (ex)
      cmd.addHelpText(
        'after',
        `\nExample${ex.length > 1 ? 's' : ''}:\n${ex.map((e) => `  $ orgtally ${e}`).join('\n')}\n`,
      );
    else if (p && cmd.commands.length === 0) missing.push(p);
    cmd.commands.forEach(walk);
  };
  walk(program);
  return missing;
}
