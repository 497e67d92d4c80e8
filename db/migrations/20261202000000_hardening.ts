import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Sending is claimed in a committed transaction before the mail goes out and marked sent in a second one
    -- (docs/adr/0003-delivery-ledger.md): a row left 'sending' means an attempt whose outcome is not known.
    ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
    ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
      CHECK (status IN ('pending', 'sending', 'sent', 'failed'));
    ALTER TABLE deliveries
      ADD COLUMN claim_id uuid,
      ADD COLUMN claimed_at timestamptz,
      ADD COLUMN unknown_outcomes integer NOT NULL DEFAULT 0;

    -- A version's mail as first rendered: the mail of every recipient and the version's report files are these
    -- bytes, whatever changes later (trends of the months before, a restated previous month).
    CREATE TABLE month_end_renders (
      account_id   text NOT NULL,
      month        date NOT NULL,
      version      integer NOT NULL,
      subject      text NOT NULL,
      html         text NOT NULL,
      text         text NOT NULL,
      rendered_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (account_id, month, version),
      FOREIGN KEY (account_id, month, version) REFERENCES month_end_versions ON DELETE CASCADE
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE month_end_renders;
    UPDATE deliveries SET status = 'pending' WHERE status = 'sending';
    ALTER TABLE deliveries DROP COLUMN claim_id, DROP COLUMN claimed_at, DROP COLUMN unknown_outcomes;
    ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
    ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('pending', 'sent', 'failed'));
  `);
}
