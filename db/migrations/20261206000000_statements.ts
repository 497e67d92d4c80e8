import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- The currency every amount of the account is in (ISO 4217). Amounts are stored without it; every output that
    -- shows one names it (mail, files, CLI, API, console).
    ALTER TABLE accounts ADD COLUMN currency text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$');

    -- Who receives a client org's own month-end statement (optional, one address).
    ALTER TABLE orgs ADD COLUMN billing_contact text CHECK (billing_contact IS NULL OR length(billing_contact) <= 254);

    -- The mail's six-month cost chart as sent (PNG, inline by Content-ID), stored with the render: a re-send is the
    -- same bytes even after an earlier month is restated.
    ALTER TABLE month_end_renders ADD COLUMN chart_png bytea;

    ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
      ADD CONSTRAINT deliveries_kind_check
        CHECK (kind IN ('month_end', 'alert', 'invitation', 'share_code', 'statement'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM deliveries WHERE kind = 'statement';
    ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
      ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('month_end', 'alert', 'invitation', 'share_code'));
    ALTER TABLE month_end_renders DROP COLUMN chart_png;
    ALTER TABLE orgs DROP COLUMN billing_contact;
    ALTER TABLE accounts DROP COLUMN currency;
  `);
}
