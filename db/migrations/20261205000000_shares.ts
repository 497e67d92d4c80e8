import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- A shared dashboard: one org's usage page behind a link (db/shares.ts). The link's token is stored as its
    -- SHA-256 digest only; a rotation replaces the digest, a revocation keeps the row (for the list and the audit
    -- log) and makes it unreachable. The org scope and the locked tag filters live here, never in the URL.
    CREATE TABLE shares (
      id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id        text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      org_id            integer NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      digest            bytea NOT NULL UNIQUE,
      title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
      dashboard_type    text NOT NULL CHECK (dashboard_type IN ('custom_timeboard', 'custom_screenboard')),
      share_type        text NOT NULL CHECK (share_type IN ('open', 'invite')),
      locks             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(locks) = 'object'),
      show_cost         boolean NOT NULL DEFAULT false,
      show_commitment   boolean NOT NULL DEFAULT true,
      status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
      expires_at        timestamptz NOT NULL,
      created_by        text NOT NULL,
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now(),
      revoked_at        timestamptz,
      last_accessed_at  timestamptz
    );
    CREATE INDEX shares_account_idx ON shares (account_id, created_at);

    -- Who may open an invite-only share; access_expiration (optional) ends one invitee's access earlier.
    CREATE TABLE share_invitees (
      share_id           uuid NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
      email              text NOT NULL CHECK (email = lower(email)),
      access_expiration  timestamptz,
      created_at         timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (share_id, email)
    );

    -- One-time codes mailed to an invitee (digest only), a few tries each.
    CREATE TABLE share_codes (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      share_id    uuid NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
      email       text NOT NULL,
      digest      bytea NOT NULL,
      tries       integer NOT NULL DEFAULT 0,
      created_at  timestamptz NOT NULL DEFAULT now(),
      expires_at  timestamptz NOT NULL,
      used_at     timestamptz
    );
    CREATE INDEX share_codes_share_idx ON share_codes (share_id, email, created_at);

    -- A viewer who proved an invited address: the cookie's digest, bound to one share.
    CREATE TABLE share_sessions (
      digest      bytea PRIMARY KEY,
      share_id    uuid NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
      email       text NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      expires_at  timestamptz NOT NULL
    );

    -- Requests for a link that opens nothing (unknown, paused, expired, revoked): the per-address limit counts
    -- these, in Postgres so that every server process counts the same.
    CREATE TABLE share_misses (
      id       bigserial PRIMARY KEY,
      at       timestamptz NOT NULL DEFAULT now(),
      address  text NOT NULL
    );
    CREATE INDEX share_misses_address_idx ON share_misses (address, at);

    ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
      ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('month_end', 'alert', 'invitation', 'share_code'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM deliveries WHERE kind = 'share_code';
    ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
      ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('month_end', 'alert', 'invitation'));
    DROP TABLE share_misses, share_sessions, share_codes, share_invitees, shares;
  `);
}
