/**
 * What kaiju_auth lacked: indexes for lookups by user and by expiry, the database-backed keystore
 * (replacing kaiju's keys-in-a-cache) and the append-only audit log.
 *
 * keystore: one row per signing key. The private key is stored only encrypted (an AEAD envelope in
 * `private_key_enc`, parameters of the key derivation in `enc_params`), the public part as a JWK.
 * `signs_until` bounds every token's `exp`; `verifies_until` is when the key may be pruned.
 * At most one row is `active` (the signing key): a partial unique index says so.
 *
 * audit_log: who did what to which target, with a secret-free summary; the tool only appends.
 */
import type { Migration } from '../src/db/migrator.js';

export const migration: Migration = {
  name: '20260101000002_indexes_keystore_audit',
  async up(knex) {
    // Raw because knex cannot say IF NOT EXISTS for an index: an adopted database may have them.
    // (user_id, group_id): a user's groups come from the index alone (index-only scan).
    await knex.raw('CREATE INDEX IF NOT EXISTS user_groups_user_id_idx ON user_groups (user_id, group_id)');
    // Disabled permissions are few: checking a grant against this index is one cheap probe.
    await knex.raw('CREATE INDEX IF NOT EXISTS permissions_disabled_idx ON permissions (id) WHERE NOT enabled');
    await knex.raw('CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON sessions (user_id)');
    await knex.raw('CREATE INDEX IF NOT EXISTS sessions_expires_idx ON sessions (expires)');

    await knex.schema.createTable('keystore', (t) => {
      t.text('kid').primary();
      t.text('alg').notNullable();
      t.jsonb('public_jwk').notNullable();
      t.binary('private_key_enc').notNullable();
      t.jsonb('enc_params').notNullable();
      t.text('state').notNullable().defaultTo('active');
      t.text('source').notNullable().defaultTo('generated');
      t.timestamp('created', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.timestamp('signs_until', { useTz: true }).notNullable();
      t.timestamp('verifies_until', { useTz: true }).notNullable();
      t.check("state in ('active', 'retired')", [], 'keystore_state_check');
      t.check("source in ('generated', 'imported')", [], 'keystore_source_check');
      t.check('verifies_until >= signs_until', [], 'keystore_deadlines_check');
      t.index(['verifies_until'], 'keystore_verifies_until_idx');
    });
    // Raw: a partial unique index (one signing key at a time) is beyond knex's builder.
    await knex.raw("CREATE UNIQUE INDEX keystore_one_active_idx ON keystore (state) WHERE state = 'active'");

    await knex.schema.createTable('audit_log', (t) => {
      t.bigIncrements('id').primary();
      t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.text('actor').notNullable();
      t.text('command').notNullable();
      t.text('target_type');
      t.text('target');
      t.jsonb('summary').notNullable().defaultTo(knex.raw("'{}'::jsonb"));
      t.index(['at'], 'audit_log_at_idx');
      t.index(['target'], 'audit_log_target_idx');
    });
  },
  async down(knex) {
    await knex.schema.dropTableIfExists('audit_log');
    await knex.schema.dropTableIfExists('keystore');
    await knex.raw('DROP INDEX IF EXISTS sessions_expires_idx');
    await knex.raw('DROP INDEX IF EXISTS sessions_user_id_idx');
    await knex.raw('DROP INDEX IF EXISTS permissions_disabled_idx');
    await knex.raw('DROP INDEX IF EXISTS user_groups_user_id_idx');
  },
};
