import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- The currency every amount of the account is in (ISO 4217). Amounts are stored without it; every output that
    -- shows one names it (mail, files, CLI, API, console).
    ALTER TABLE accounts ADD COLUMN currency text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$');

    -- A version keeps the currency it was priced in and the status it was issued (mailed) with; the status column
    -- itself moves to final in place, files and mails keep saying what was sent.
    ALTER TABLE month_end_versions ADD COLUMN currency text, ADD COLUMN issued_status text;
    UPDATE month_end_versions v SET currency = a.currency, issued_status = v.status FROM accounts a WHERE a.id = v.account_id;
    ALTER TABLE month_end_versions ALTER COLUMN currency SET NOT NULL, ALTER COLUMN issued_status SET NOT NULL,
      ADD CHECK (issued_status IN ('provisional', 'final'));

    -- Who receives a client org's own month-end statement (optional, one address).
    ALTER TABLE orgs ADD COLUMN billing_contact text CHECK (billing_contact IS NULL OR length(billing_contact) <= 254);

    -- The mail's six-month cost chart as sent (PNG, inline by Content-ID), stored with the render: a re-send is the
    -- same bytes even after an earlier month is restated.
    ALTER TABLE month_end_renders ADD COLUMN chart_png bytea;

    -- An alert notice's mail as first composed (subject, parts, chart): it names prices, estimates and a series
    -- that may change later, and every recipient and retry must get the bytes the first one got.
    CREATE TABLE alert_mail_renders (
      event_id     bigint PRIMARY KEY REFERENCES alert_events (id) ON DELETE CASCADE,
      subject      text NOT NULL,
      html         text NOT NULL,
      text         text NOT NULL,
      chart_png    bytea,
      rendered_at  timestamptz NOT NULL DEFAULT now()
    );

    ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
      ADD CONSTRAINT deliveries_kind_check
        CHECK (kind IN ('month_end', 'alert', 'invitation', 'share_code', 'statement'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE alert_mail_renders;
    DELETE FROM deliveries WHERE kind = 'statement';
    ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
      ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('month_end', 'alert', 'invitation', 'share_code'));
    ALTER TABLE month_end_renders DROP COLUMN chart_png;
    ALTER TABLE month_end_versions DROP COLUMN currency, DROP COLUMN issued_status;
    ALTER TABLE orgs DROP COLUMN billing_contact;
    ALTER TABLE accounts DROP COLUMN currency;
  `);
}
