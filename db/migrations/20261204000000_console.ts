import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- A console user's password: an argon2id hash (PHC string); NULL until the user accepts an invitation.
    ALTER TABLE users ADD COLUMN password_hash text, ADD COLUMN password_changed_at timestamptz;

    -- Console sessions: only the SHA-256 digest of the cookie is stored, so a copy of this table signs nobody in.
    -- Removing a user ends its sessions (CASCADE); a password change deletes them.
    CREATE TABLE sessions (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      digest        bytea NOT NULL UNIQUE,
      user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at    timestamptz NOT NULL DEFAULT now(),
      last_seen_at  timestamptz NOT NULL DEFAULT now(),
      expires_at    timestamptz NOT NULL
    );
    CREATE INDEX sessions_user_idx ON sessions (user_id);

    -- One-time links: an invitation (sets a password) or a sign-in link (operators, the demo). Digest only.
    CREATE TABLE login_tokens (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      digest      bytea NOT NULL UNIQUE,
      user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      kind        text NOT NULL CHECK (kind IN ('invite', 'login')),
      next_path   text NOT NULL DEFAULT '/',
      created_by  text NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      expires_at  timestamptz NOT NULL,
      used_at     timestamptz
    );
    CREATE INDEX login_tokens_user_idx ON login_tokens (user_id);

    -- Sign-in attempts, for the limits per address and per account (kept in Postgres: every server process
    -- counts the same attempts).
    CREATE TABLE sign_in_attempts (
      id       bigserial PRIMARY KEY,
      at       timestamptz NOT NULL DEFAULT now(),
      address  text NOT NULL,
      email    text NOT NULL,
      ok       boolean NOT NULL
    );
    CREATE INDEX sign_in_attempts_address_idx ON sign_in_attempts (address, at);
    CREATE INDEX sign_in_attempts_email_idx ON sign_in_attempts (email, at);

    -- Invitations are mailed through the delivery ledger too (once per invitation, with its outcome recorded).
    ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
      ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('month_end', 'alert', 'invitation'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM deliveries WHERE kind = 'invitation';
    ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check,
      ADD CONSTRAINT deliveries_kind_check CHECK (kind IN ('month_end', 'alert'));
    DROP TABLE sign_in_attempts;
    DROP TABLE login_tokens;
    DROP TABLE sessions;
    ALTER TABLE users DROP COLUMN password_changed_at, DROP COLUMN password_hash;
  `);
}
