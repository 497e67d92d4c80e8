import type { Knex } from 'knex';

// Frozen once merged: never import app code here, never edit; add a new migration instead.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- A tag set's cells under a list of tag keys (domain/attribution.ts cellsFor): per key the value, '<empty>'
    -- when present without value, 'a|b' for several values (sorted), NULL when untagged for that key. One
    -- definition for attribution and every reader that derives attributed rows from the facts.
    CREATE FUNCTION attribution_cells_of(tags text[], keys text[]) RETURNS text[]
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT ARRAY(SELECT (SELECT string_agg(CASE v WHEN '' THEN '<empty>' ELSE v END, '|' ORDER BY v)
                               FROM unnest(tags) AS tag, substr(tag, length(k) + 2) AS v
                              WHERE starts_with(tag, k || ':'))
                       FROM unnest(keys) WITH ORDINALITY AS x(k, ord)
                      ORDER BY ord)
      $$;

    -- The cell dictionary of each attributed day: every tag set its facts use, its cells under the day's tag keys,
    -- and combo, the rank of those cells among the day's (text order, C collation) — an integer to group and sort
    -- the hourly rows by. Hourly attribution is no longer stored: it is the facts grouped by org, product, hour
    -- and combo, read through this table (an attributed day's facts cannot change without marking it pending).
    CREATE TABLE attribution_cells (
      account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
      day         date NOT NULL,
      tag_set_id  integer NOT NULL,
      combo       integer NOT NULL,
      cells       text[] NOT NULL,
      PRIMARY KEY (account_id, day, tag_set_id)
    );

    INSERT INTO attribution_cells (account_id, day, tag_set_id, combo, cells)
    SELECT s.account_id, s.day, s.tag_set_id,
           dense_rank() OVER (PARTITION BY s.account_id, s.day ORDER BY s.cells::text COLLATE "C"), s.cells
      FROM (SELECT r.account_id, r.day, t.id AS tag_set_id, attribution_cells_of(t.tags, r.tag_keys) AS cells
              FROM attribution_runs r
              JOIN LATERAL (SELECT DISTINCT f.tag_set_id FROM usage_facts f
                             WHERE f.hour >= r.period_start AND f.hour < r.period_end
                               AND f.org_id IN (SELECT o.id FROM orgs o WHERE o.account_id = r.account_id)) d ON true
              JOIN tag_sets t ON t.id = d.tag_set_id) s;

    -- Hourly rows per (org, product) of an attributed day: what its file must hold for them.
    ALTER TABLE attribution_totals ADD COLUMN hourly_rows integer NOT NULL DEFAULT 0;
    UPDATE attribution_totals t
       SET hourly_rows = h.n
      FROM (SELECT account_id, day, org_id, product_id, count(*)::int AS n FROM attribution_hourly
             GROUP BY 1, 2, 3, 4) h
     WHERE h.account_id = t.account_id AND h.day = t.day AND h.org_id = t.org_id AND h.product_id = t.product_id;

    DROP TABLE attribution_hourly;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
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
    INSERT INTO attribution_hourly (account_id, day, org_id, product_id, hour, cells, total_usage)
    SELECT c.account_id, c.day, f.org_id, f.product_id, f.hour, c.cells, sum(f.value)
      FROM attribution_runs r
      JOIN attribution_cells c ON c.account_id = r.account_id AND c.day = r.day
      JOIN usage_facts f ON f.tag_set_id = c.tag_set_id AND f.hour >= r.period_start AND f.hour < r.period_end
     WHERE f.org_id IN (SELECT o.id FROM orgs o WHERE o.account_id = r.account_id)
     GROUP BY 1, 2, 3, 4, 5, 6;
    ALTER TABLE attribution_totals DROP COLUMN hourly_rows;
    DROP TABLE attribution_cells;
    DROP FUNCTION attribution_cells_of(text[], text[]);
  `);
}
