import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Hourly usage per org, product and attribution cells (one cell per configured tag key: the value, '<empty>',
    -- 'a|b' for several values, NULL when untagged for that key). Replaced as a whole per (account, day) by
    -- db/attribution.ts only, for an account it has just read. No foreign keys on the two large tables: a per-row
    -- check cost ~20 s per 4.3 M rows on the benchmark day (ADR 0002 made the same call for usage_facts).
    CREATE TABLE attribution_hourly (
      account_id   text NOT NULL,
      day          date NOT NULL,
      org_id       integer NOT NULL,
      product_id   integer NOT NULL,
      hour         timestamptz NOT NULL,
      cells        text[] NOT NULL,
      total_usage  numeric NOT NULL,
      PRIMARY KEY (account_id, day, org_id, product_id, hour, cells)
    );

    CREATE TABLE attribution_daily (
      account_id   text NOT NULL,
      day          date NOT NULL,
      org_id       integer NOT NULL,
      product_id   integer NOT NULL,
      cells        text[] NOT NULL,
      total_usage  numeric NOT NULL,
      PRIMARY KEY (account_id, day, org_id, product_id, cells)
    );

    -- Per (org, product) of an attributed day: Σ facts and Σ attributed rows, read in one snapshot.
    CREATE TABLE attribution_totals (
      account_id   text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      day          date NOT NULL,
      org_id       integer NOT NULL,
      product_id   integer NOT NULL,
      facts        integer NOT NULL,
      facts_total  numeric NOT NULL,
      rows_total   numeric NOT NULL,
      PRIMARY KEY (account_id, day, org_id, product_id)
    );

    -- The latest attribution of each day: what it read and what it wrote.
    CREATE TABLE attribution_runs (
      account_id       text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      day              date NOT NULL,
      tag_keys         text[] NOT NULL,
      tag_keys_from    date,
      restated_tags    boolean NOT NULL DEFAULT false,
      period_start     timestamptz NOT NULL,
      period_end       timestamptz NOT NULL,
      facts_watermark  bigint,
      facts            integer NOT NULL,
      hourly_rows      integer NOT NULL,
      daily_rows       integer NOT NULL,
      attributed_at    timestamptz NOT NULL DEFAULT now(),
      files            jsonb,
      reconciled_at    timestamptz,
      PRIMARY KEY (account_id, day)
    );

    -- Days whose facts changed after (or while) they were attributed: late data, replacements.
    CREATE TABLE attribution_pending (
      account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      day         date NOT NULL,
      batch_id    bigint NOT NULL,
      marked_at   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (account_id, day)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    'DROP TABLE attribution_pending, attribution_runs, attribution_totals, attribution_daily, attribution_hourly',
  );
}
