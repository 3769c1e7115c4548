/**
 * The keystore's secret verifier: one row holding a known value sealed (AES-256-GCM, like every
 * private key) under the key secret. Every command that writes or uses a private key first opens
 * it with the secret it was given, so a wrong secret is refused even when no key is left to try
 * it on (all expired or pruned), and can never seal a new key. A keystore made before this table
 * gets its row the first time a secret is proven against one of its keys (or with its first key).
 *
 * One row at most (`id` is always 1). Changing the secret (a `keys rekey`) rewrites this row and
 * every private key in one transaction.
 */
import type { Migration } from '../src/db/migrator.js';

export const migration: Migration = {
  name: '20260101000004_keystore_verifier',
  async up(knex) {
    await knex.schema.createTable('keystore_verifier', (t) => {
      t.smallint('id').primary().defaultTo(1);
      t.binary('sealed').notNullable();
      t.jsonb('enc_params').notNullable();
      t.timestamp('created', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.check('id = 1', [], 'keystore_verifier_one_row_check');
    });
  },
  async down(knex) {
    await knex.schema.dropTableIfExists('keystore_verifier');
  },
};
