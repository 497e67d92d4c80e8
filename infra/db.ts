import knexFactory, { type Knex } from 'knex';

/** A knex pool whose sessions compute in UTC: account time zones are applied explicitly in SQL. */
export function createDb(url: string, opts: { max?: number } = {}): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: url, options: '-c TimeZone=UTC' },
    pool: { min: 0, max: opts.max ?? 10 },
  });
}
