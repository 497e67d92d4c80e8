import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Hourly usage per org × product, rolled up from usage_facts by db/estimates.ts: every hour touched by a
    -- batch not yet in rollup_batches is recomputed from the facts. No foreign keys (written set-based only).
    CREATE TABLE usage_hourly (
      account_id  text NOT NULL,
      hour        timestamptz NOT NULL,
      org_id      integer NOT NULL,
      product_id  integer NOT NULL,
      total       numeric NOT NULL,
      PRIMARY KEY (account_id, hour, org_id, product_id)
    );

    -- The same per calendar day of the account's time zone: what every rule needs from the day's hours.
    CREATE TABLE usage_daily (
      account_id  text NOT NULL,
      day         date NOT NULL,
      org_id      integer NOT NULL,
      product_id  integer NOT NULL,
      hours       integer NOT NULL,              -- hours with data
      total       numeric NOT NULL,              -- Σ
      peak        numeric NOT NULL,              -- max
      last_hour   timestamptz NOT NULL,          -- the latest hour with data
      last_value  numeric NOT NULL,              -- its value
      top         numeric[] NOT NULL,            -- the largest hourly values, descending (enough for p99)
      PRIMARY KEY (account_id, day, org_id, product_id)
    );

    CREATE TABLE rollup_batches (
      batch_id   bigint PRIMARY KEY,
      rolled_at  timestamptz NOT NULL DEFAULT now()
    );

    -- One estimate of the month containing the hour before as_of (the account's time zone).
    CREATE TABLE estimate_runs (
      account_id             text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      as_of                  timestamptz NOT NULL CHECK (date_trunc('hour', as_of) = as_of),
      month                  date NOT NULL CHECK (extract(day FROM month) = 1),
      hours_elapsed          integer NOT NULL,
      month_hours            integer NOT NULL,
      data_complete_through  timestamptz NOT NULL,
      computed_at            timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (account_id, as_of)
    );
    CREATE INDEX estimate_runs_month_idx ON estimate_runs (account_id, month);

    -- Account figures per product, kept for every run (the series the estimate error is measured on).
    CREATE TABLE estimate_totals (
      account_id                text NOT NULL,
      as_of                     timestamptz NOT NULL,
      usage_type                text NOT NULL,
      unit                      text NOT NULL,
      aggregation               text NOT NULL,
      method                    text NOT NULL CHECK (method IN ('extrapolated', 'so_far')),
      mtd_usage                 numeric NOT NULL,
      mtd_billable              numeric NOT NULL,
      projected_usage           numeric NOT NULL,
      projected_billable        numeric NOT NULL,
      included_usage            numeric NOT NULL,
      projected_on_demand       numeric NOT NULL,
      projected_on_demand_cost  numeric NOT NULL,
      PRIMARY KEY (account_id, as_of, usage_type),
      FOREIGN KEY (account_id, as_of) REFERENCES estimate_runs (account_id, as_of) ON DELETE CASCADE
    );

    -- Org figures per product: kept for the latest run of each UTC day (20 000 rows an hour otherwise).
    CREATE TABLE estimate_orgs (
      account_id          text NOT NULL,
      as_of               timestamptz NOT NULL,
      public_id           text NOT NULL,
      org_name            text NOT NULL,
      billable            boolean NOT NULL,
      usage_type          text NOT NULL,
      mtd_usage           numeric NOT NULL,
      projected_usage     numeric NOT NULL,
      PRIMARY KEY (account_id, as_of, public_id, usage_type),
      FOREIGN KEY (account_id, as_of) REFERENCES estimate_runs (account_id, as_of) ON DELETE CASCADE
    );

    -- The notification state of each (rule, scope): domain/alerts.ts nextAlertState.
    CREATE TABLE alert_states (
      account_id        text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      rule_id           text NOT NULL,
      scope_key         text NOT NULL,
      state             text NOT NULL CHECK (state IN ('ok', 'firing')),
      "window"          text,
      last_notified_at  timestamptz,
      message           text NOT NULL,
      updated_at        timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (account_id, rule_id, scope_key)
    );

    -- The latest hour each account's alerts were evaluated at: an older hour evaluated later changes nothing
    -- (replaying the past must not resolve or retract what a later evaluation saw).
    CREATE TABLE alert_runs (
      account_id  text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
      last_as_of  timestamptz NOT NULL
    );

    -- Every notice sent or to be sent (fire, renotify, resolve, retract); event_key makes it happen once.
    CREATE TABLE alert_events (
      id          bigserial PRIMARY KEY,
      event_key   text NOT NULL UNIQUE,
      account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      rule_id     text NOT NULL,
      kind        text NOT NULL CHECK (kind IN ('threshold', 'spike', 'drop', 'stall')),
      scope_key   text NOT NULL,
      notify      text NOT NULL CHECK (notify IN ('fire', 'renotify', 'resolve', 'retract')),
      "window"    text NOT NULL,
      as_of       timestamptz NOT NULL,
      message     text NOT NULL,
      details     jsonb NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX alert_events_account_idx ON alert_events (account_id, as_of);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE alert_events, alert_runs, alert_states, estimate_orgs, estimate_totals, estimate_runs, rollup_batches,
      usage_daily, usage_hourly;
  `);
}
