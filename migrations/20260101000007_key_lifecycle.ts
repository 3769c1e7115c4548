/**
 * Pre-published rotation and revocation. A key can be `next` (in the JWKS, verifying, not yet
 * signing: verifiers that cache the JWKS fetch it before its first token) and `revoked` (out of
 * the JWKS at once, its tokens refused). `activated` is when a key began to sign; null for a
 * `next` key; null on older rows, which signed from `created`. At most one `next` key, as at most
 * one `active` one. Existing rows are kept as they are.
 */
import type { Migration } from '../src/db/migrator.js';

export const migration: Migration = {
  name: '20260101000007_key_lifecycle',
  async up(knex) {
    await knex.schema.alterTable('keystore', (t) => {
      t.timestamp('activated', { useTz: true }).nullable();
    });
    await knex.raw('ALTER TABLE keystore DROP CONSTRAINT keystore_state_check');
    await knex.raw("ALTER TABLE keystore ADD CONSTRAINT keystore_state_check CHECK (state in ('next', 'active', 'retired', 'revoked'))");
    await knex.raw("CREATE UNIQUE INDEX keystore_one_next_idx ON keystore (state) WHERE state = 'next'");
  },
  async down(knex) {
    // The older schema knows neither state: a next key never signed (dropped); a revoked key can
    // verify nothing (kept, expired, so `keys prune` drops it).
    await knex('keystore').where({ state: 'next' }).delete();
    await knex('keystore')
      .where({ state: 'revoked' })
      .update({ state: 'retired', signs_until: knex.raw('least(signs_until, now())'), verifies_until: knex.raw('least(verifies_until, now())') });
    await knex.raw('DROP INDEX IF EXISTS keystore_one_next_idx');
    await knex.raw('ALTER TABLE keystore DROP CONSTRAINT keystore_state_check');
    await knex.raw("ALTER TABLE keystore ADD CONSTRAINT keystore_state_check CHECK (state in ('active', 'retired'))");
    await knex.schema.alterTable('keystore', (t) => {
      t.dropColumn('activated');
    });
  },
};
