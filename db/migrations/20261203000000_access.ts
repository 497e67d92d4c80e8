import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Roles of an account: the managed ones (admin, standard, read_only) are rows too, so that a user's roles are
    -- one foreign key whatever their kind; their permissions are rewritten from the code's catalogue on apply.
    CREATE TABLE roles (
      id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id   text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      name         text NOT NULL,
      managed      boolean NOT NULL DEFAULT false,
      permissions  text[] NOT NULL DEFAULT '{}',
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now(),
      UNIQUE (account_id, name)
    );

    -- Accounts made before this migration get the managed roles too (the code's catalogue of this day; every
    -- apply rewrites their permissions from the code's current one).
    INSERT INTO roles (account_id, name, managed, permissions)
    SELECT a.id, r.name, true, r.permissions
      FROM accounts a,
           (VALUES ('admin', ARRAY['usage_read', 'usage_edit', 'billing_read', 'billing_edit',
                                   'usage_notifications_read', 'usage_notifications_write', 'dashboards_read',
                                   'dashboards_write', 'dashboards_public_share', 'user_access_read',
                                   'user_access_manage']),
                   ('standard', ARRAY['dashboards_read', 'dashboards_write', 'dashboards_public_share',
                                      'user_access_read']),
                   ('read_only', ARRAY['dashboards_read', 'user_access_read'])) AS r (name, permissions);

    -- A user is an e-mail (stored lower-case) in one org of one account; removing the org removes its users.
    CREATE TABLE users (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      email       text NOT NULL CHECK (email = lower(email)),
      org_id      integer NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      created_at  timestamptz NOT NULL DEFAULT now(),
      UNIQUE (account_id, email)
    );
    CREATE INDEX users_org_idx ON users (org_id);

    CREATE TABLE user_roles (
      user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      role_id  uuid NOT NULL REFERENCES roles (id) ON DELETE RESTRICT,
      PRIMARY KEY (user_id, role_id)
    );
    CREATE INDEX user_roles_role_idx ON user_roles (role_id);

    -- Keys are stored only as SHA-256 digests of 256 random bits: a lookup is one unique-index probe per request
    -- (a slow password hash buys nothing against a secret of that strength). The hint lets a person recognise a key.
    CREATE TABLE api_keys (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      name            text NOT NULL,
      api_key_digest  bytea NOT NULL UNIQUE,
      app_key_digest  bytea NOT NULL,
      hint            text NOT NULL,
      scopes          text[],
      expires_at      timestamptz,
      revoked_at      timestamptz,
      last_used_at    timestamptz,
      created_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX api_keys_user_idx ON api_keys (user_id);

    -- Append-only: the triggers refuse every UPDATE, DELETE and TRUNCATE, whoever asks.
    CREATE TABLE audit_log (
      id          bigserial PRIMARY KEY,
      account_id  text,
      at          timestamptz NOT NULL DEFAULT now(),
      actor       text NOT NULL,
      action      text NOT NULL,
      target      text NOT NULL,
      before      jsonb,
      after       jsonb
    );
    CREATE INDEX audit_log_account_idx ON audit_log (account_id, at);
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP; END $$;
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

    -- The key that signs the API's pagination cursors: made once per database, shared by every server process.
    CREATE TABLE api_secrets (
      name        text PRIMARY KEY,
      secret      bytea NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE api_secrets;
    DROP TABLE audit_log;
    DROP FUNCTION audit_log_append_only();
    DROP TABLE api_keys;
    DROP TABLE user_roles;
    DROP TABLE users;
    DROP TABLE roles;
  `);
}
