import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- The p99 rank rule: drop the top floor(p99_drop_percent % × hours) hours of the month, take the next one.
    ALTER TABLE accounts
      ADD COLUMN p99_drop_percent numeric NOT NULL DEFAULT 1 CHECK (p99_drop_percent >= 0 AND p99_drop_percent < 100);
    -- 'hourly': the allotment is granted per hour (monthly × 12 / 8 760) and unused hours are lost.
    ALTER TABLE products
      ADD COLUMN on_demand_mode text NOT NULL DEFAULT 'monthly' CHECK (on_demand_mode IN ('monthly', 'hourly'));

    -- One row per computed version of an account's month; figures live in the three tables below. A new version
    -- is written only when the figures' checksum changes (late data, a fixed bug); status and watermark are
    -- updated in place when they do not.
    CREATE TABLE month_end_versions (
      account_id             text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      month                  date NOT NULL CHECK (extract(day FROM month) = 1),
      version                integer NOT NULL CHECK (version >= 1),
      status                 text NOT NULL CHECK (status IN ('provisional', 'final')),
      period_start           timestamptz NOT NULL,
      period_end             timestamptz NOT NULL,
      hours                  integer NOT NULL,
      tag_keys               text[] NOT NULL,
      p99_drop_percent       numeric NOT NULL,
      data_complete_through  timestamptz NOT NULL,
      facts_watermark        bigint,
      as_of                  timestamptz NOT NULL,
      computed_at            timestamptz NOT NULL DEFAULT now(),
      checksum               text NOT NULL,
      changes                jsonb NOT NULL DEFAULT '[]',
      PRIMARY KEY (account_id, month, version)
    );

    -- Account level, per product. Names follow Datadog's usage API.
    CREATE TABLE month_end_totals (
      account_id       text NOT NULL,
      month            date NOT NULL,
      version          integer NOT NULL,
      usage_type       text NOT NULL,
      unit             text NOT NULL,
      aggregation      text NOT NULL,
      on_demand_mode   text NOT NULL,
      total_usage      numeric NOT NULL,
      billable_usage   numeric NOT NULL,
      committed_usage  numeric NOT NULL,
      allotment_usage  numeric NOT NULL,
      included_usage   numeric NOT NULL,
      on_demand_usage  numeric NOT NULL,
      committed_price  numeric NOT NULL,
      on_demand_price  numeric NOT NULL,
      committed_cost   numeric NOT NULL,
      on_demand_cost   numeric NOT NULL,
      total_cost       numeric NOT NULL,
      PRIMARY KEY (account_id, month, version, usage_type),
      FOREIGN KEY (account_id, month, version) REFERENCES month_end_versions ON DELETE CASCADE
    );

    -- Org level (chargeback); public_id and org_name are kept as they were when the version was computed.
    CREATE TABLE month_end_orgs (
      account_id             text NOT NULL,
      month                  date NOT NULL,
      version                integer NOT NULL,
      public_id              text NOT NULL,
      org_name               text NOT NULL,
      billable               boolean NOT NULL,
      usage_type             text NOT NULL,
      total_usage            numeric NOT NULL,
      billable_usage         numeric NOT NULL,
      committed_usage        numeric NOT NULL,
      on_demand_usage        numeric NOT NULL,
      percentage_in_account  numeric NOT NULL,
      committed_cost         numeric NOT NULL,
      on_demand_cost         numeric NOT NULL,
      total_cost             numeric NOT NULL,
      PRIMARY KEY (account_id, month, version, public_id, usage_type),
      FOREIGN KEY (account_id, month, version) REFERENCES month_end_versions ON DELETE CASCADE
    );

    -- Tag level: the org's figures split by each tag row's share of the org's summed hourly usage (raw_usage).
    CREATE TABLE month_end_tags (
      account_id             text NOT NULL,
      month                  date NOT NULL,
      version                integer NOT NULL,
      public_id              text NOT NULL,
      usage_type             text NOT NULL,
      cells                  text[] NOT NULL,
      raw_usage              numeric NOT NULL,
      total_usage            numeric NOT NULL,
      billable_usage         numeric NOT NULL,
      committed_usage        numeric NOT NULL,
      on_demand_usage        numeric NOT NULL,
      percentage_in_org      numeric NOT NULL,
      percentage_in_account  numeric NOT NULL,
      committed_cost         numeric NOT NULL,
      on_demand_cost         numeric NOT NULL,
      total_cost             numeric NOT NULL,
      PRIMARY KEY (account_id, month, version, public_id, usage_type, cells),
      FOREIGN KEY (account_id, month, version) REFERENCES month_end_versions ON DELETE CASCADE
    );

    -- The delivery ledger: one row per mail that must be sent exactly once (dedupe_key), claimed before sending.
    CREATE TABLE deliveries (
      id             bigserial PRIMARY KEY,
      dedupe_key     text NOT NULL UNIQUE,
      kind           text NOT NULL CHECK (kind IN ('month_end', 'alert')),
      account_id     text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      reference      jsonb NOT NULL,
      recipient      text NOT NULL,
      message_id     text NOT NULL,
      subject        text,
      status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
      attempts       integer NOT NULL DEFAULT 0,
      last_error     text,
      smtp_response  text,
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now(),
      sent_at        timestamptz
    );
    CREATE INDEX deliveries_account_idx ON deliveries (account_id, created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE deliveries, month_end_tags, month_end_orgs, month_end_totals, month_end_versions;
    ALTER TABLE products DROP COLUMN on_demand_mode;
    ALTER TABLE accounts DROP COLUMN p99_drop_percent;
  `);
}
