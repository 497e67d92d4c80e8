import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.
// Rules (ADR 0001): every table has a primary key; instants are timestamptz; quantities and money are numeric.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE accounts (
      id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
      name            text NOT NULL,
      timezone        text NOT NULL DEFAULT 'UTC',
      lateness_hours  integer NOT NULL DEFAULT 72 CHECK (lateness_hours >= 0),
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now()
    );

    -- An org tree under each account; the org whose public_id equals the account id is the parent's own org.
    CREATE TABLE orgs (
      id          serial PRIMARY KEY,
      account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      public_id   text NOT NULL UNIQUE,
      name        text NOT NULL,
      parent_id   integer REFERENCES orgs (id) DEFERRABLE INITIALLY DEFERRED,
      billable    boolean NOT NULL DEFAULT true,
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX orgs_account_idx ON orgs (account_id);

    CREATE TABLE products (
      id                  serial PRIMARY KEY,
      account_id          text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      code                text NOT NULL,
      unit                text NOT NULL,
      aggregation         text NOT NULL CHECK (aggregation IN ('sum', 'avg', 'max', 'p99', 'last')),
      allotment_per       text,
      allotment_quantity  numeric CHECK (allotment_quantity >= 0),
      created_at          timestamptz NOT NULL DEFAULT now(),
      updated_at          timestamptz NOT NULL DEFAULT now(),
      UNIQUE (account_id, code),
      CHECK ((allotment_per IS NULL) = (allotment_quantity IS NULL))
    );

    CREATE TABLE commitments (
      account_id       text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      product_code     text NOT NULL,
      quantity         numeric NOT NULL CHECK (quantity >= 0),
      committed_price  numeric NOT NULL CHECK (committed_price >= 0),
      on_demand_price  numeric NOT NULL CHECK (on_demand_price >= 0),
      PRIMARY KEY (account_id, product_code),
      FOREIGN KEY (account_id, product_code) REFERENCES products (account_id, code) ON DELETE CASCADE
    );

    -- The ordered attribution keys in effect from a day on (the account's calendar day).
    CREATE TABLE attribution_tag_keys (
      account_id      text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      effective_from  date NOT NULL,
      tag_keys        text[] NOT NULL CHECK (cardinality(tag_keys) <= 10),
      PRIMARY KEY (account_id, effective_from)
    );

    CREATE TABLE finance_recipients (
      account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      email       text NOT NULL,
      PRIMARY KEY (account_id, email)
    );

    CREATE TABLE alert_rules (
      account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      rule_id     text NOT NULL,
      kind        text NOT NULL CHECK (kind IN ('threshold', 'spike', 'drop', 'stall')),
      definition  jsonb NOT NULL,
      PRIMARY KEY (account_id, rule_id)
    );

    -- Dictionary of distinct normalized tag sets (sorted, deduplicated); facts reference the id.
    CREATE TABLE tag_sets (
      id         serial PRIMARY KEY,
      tags_hash  text NOT NULL UNIQUE,
      tags       text[] NOT NULL
    );

    -- One row per ingested batch; batch_key is the content hash or the operator's --batch-id.
    CREATE TABLE ingest_batches (
      id              bigserial PRIMARY KEY,
      batch_key       text NOT NULL UNIQUE,
      content_sha256  text,
      source          text NOT NULL,
      format          text NOT NULL CHECK (format IN ('ndjson', 'csv', 'tsv')),
      replace         boolean NOT NULL DEFAULT false,
      records_read    integer NOT NULL DEFAULT 0,
      accepted        integer NOT NULL DEFAULT 0,
      quarantined     integer NOT NULL DEFAULT 0,
      replaced_facts  integer NOT NULL DEFAULT 0,
      as_of           timestamptz NOT NULL,
      ingested_at     timestamptz NOT NULL DEFAULT now(),
      CHECK (accepted + quarantined = records_read)
    );

    -- Hourly usage facts, one row per accepted input record. Records of one batch with the same
    -- (org, product, hour, tag set) add up when read: every reader sums. No foreign keys on this table: it is
    -- written only by COPY inside the batch's own transaction (db/ingest.ts), and per-row FK checks would more
    -- than double the cost of every load (ADR 0002).
    CREATE TABLE usage_facts (
      batch_id    bigint NOT NULL,
      line        integer NOT NULL,
      org_id      integer NOT NULL,
      product_id  integer NOT NULL,
      hour        timestamptz NOT NULL CHECK (date_trunc('hour', hour) = hour),
      tag_set_id  integer NOT NULL,
      value       numeric NOT NULL CHECK (value >= 0),
      PRIMARY KEY (batch_id, line)
    );
    CREATE INDEX usage_facts_hour_org_idx ON usage_facts (hour, org_id);

    CREATE TABLE quarantine (
      id              bigserial PRIMARY KEY,
      batch_id        bigint NOT NULL REFERENCES ingest_batches (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
      file            text NOT NULL,
      line            integer NOT NULL,
      reason          text NOT NULL,
      detail          text NOT NULL,
      raw             text NOT NULL,
      quarantined_at  timestamptz NOT NULL DEFAULT now(),
      UNIQUE (batch_id, line)
    );
    CREATE INDEX quarantine_reason_idx ON quarantine (reason);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE quarantine, usage_facts, ingest_batches, tag_sets, alert_rules, finance_recipients,
      attribution_tag_keys, commitments, products, orgs, accounts;
  `);
}
