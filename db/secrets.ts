import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * The server's signing keys (cursors, CSRF tokens): each made once per database by the first server to start and
 * shared by every server process, so a token one process issued is good at another.
 */
export async function serverSecret(db: Knex, name: 'cursor' | 'csrf'): Promise<Buffer> {
  await db('api_secrets')
    .insert({ name, secret: randomBytes(32) })
    .onConflict('name')
    .ignore();
  const row = await db('api_secrets').where({ name }).first('secret');
  return row.secret as Buffer;
}
