import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- One computation of the six months ending at month, from the latest month-end version of each month.
    CREATE TABLE trend_runs (
      account_id      text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      month           date NOT NULL CHECK (extract(day FROM month) = 1),
      months          date[] NOT NULL,
      -- the month-end version each month was read from (null: the month is not closed)
      versions        integer[] NOT NULL,
      inputs_checksum text NOT NULL,
      computed_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (account_id, month)
    );

    -- Written only by db/trends.ts, replaced with its trend_runs row in one transaction; no foreign key (a per-row
    -- check cost a third of the write at 40 000 rows); keys in the C collation (byte order: cheaper to index and
    -- the order reports use).
    -- One row per (org or account) × product × view: the six values (oldest first, NULL = absent) and changes.
    CREATE TABLE trends (
      account_id  text NOT NULL,
      month       date NOT NULL,
      scope       text COLLATE "C" NOT NULL CHECK (scope IN ('account', 'org')),
      public_id   text COLLATE "C" NOT NULL, -- '' for the account row
      org_name    text NOT NULL,
      usage_type  text COLLATE "C" NOT NULL,
      view        text COLLATE "C" NOT NULL CHECK (view IN ('billable', 'all')),
      "values"    numeric[] NOT NULL,
      mom_kind    text NOT NULL,
      mom_abs     numeric,
      mom_pct     numeric,
      six_kind    text NOT NULL,
      six_abs     numeric,
      six_pct     numeric,
      PRIMARY KEY (account_id, month, scope, public_id, usage_type, view)
    );

    CREATE TABLE trend_movers (
      account_id  text NOT NULL,
      month       date NOT NULL,
      view        text NOT NULL,
      usage_type  text NOT NULL,
      kind        text NOT NULL CHECK (kind IN ('increase', 'decrease', 'relative_increase', 'relative_decrease')),
      rank        integer NOT NULL,
      public_id   text NOT NULL,
      previous    numeric,
      current     numeric,
      abs         numeric NOT NULL,
      pct         numeric,
      PRIMARY KEY (account_id, month, view, usage_type, kind, rank)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE trend_movers, trends, trend_runs');
}
