/**
 * Look-alike usernames and emails (issue 11 item 8): each user's comparison keys (see
 * src/core/lookalike.ts), so a new name or email is checked against every existing one set-wise.
 *
 * The keys are computed by the tool, in JavaScript (from Unicode's confusables data), in the same
 * transaction as each user the tool writes. The users an adopted database already has are marked
 * stale here, as a row written by someone else would be: `migrate` keys them before it commits
 * (src/core/migrate.ts), and any later check would otherwise. A row
 * the tool did not write (the Python kaiju app shares the table) is noted by row triggers in
 * `kaiju_auth_user_keys_stale` (the user's id), and the tool brings those users' keys up to date
 * before its next check; a TRUNCATE of users empties the keys too. The tool's own writes say so with the transaction-local setting `kaiju_auth.user_keys`,
 * which the triggers' WHEN skips at almost no cost (an import of 100k users queues no trigger).
 * No foreign key and no delete trigger: every lookup joins the keys to `users`, so the keys of a
 * user someone else deleted (or gave a new id) match nothing; `user list --collisions` clears them.
 *
 * `kaiju_auth_user_keys_state.generation` is bumped by every transaction of the tool that writes
 * keys, first thing: its row lock serialises them (two look-alike registrations cannot both pass
 * their check), and an import that sees it moved by one only, its own, knows no one else wrote.
 * Existing rows of `users` are never changed.
 */
import type { Knex } from 'knex';
import type { Migration } from '../src/db/migrator.js';

async function schemaName(knex: Knex): Promise<string> {
  const row = (await knex.raw('select current_schema() as s')).rows[0] as { s: string };
  return row.s;
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const NOT_OURS = "current_setting('kaiju_auth.user_keys', true) IS DISTINCT FROM 'kept'";

export const migration: Migration = {
  name: '20260101000006_user_keys',
  async up(knex) {
    const path = ident(await schemaName(knex));
    // No index, not even on user_id: a check reads the table once (a hash join), and an import of
    // 100k users then writes only the rows themselves (a uuid primary key alone doubled that).
    await knex.raw(`CREATE TABLE kaiju_auth_user_keys (
      user_id UUID NOT NULL,
      name_key TEXT NOT NULL,
      name_alt TEXT,
      email_key TEXT NOT NULL,
      email_alt TEXT
    )`);
    await knex.raw(`CREATE TABLE kaiju_auth_user_keys_stale (
      id BIGSERIAL PRIMARY KEY,
      user_id UUID NOT NULL
    )`);
    await knex.raw(`CREATE TABLE kaiju_auth_user_keys_state (
      id SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
      generation BIGINT NOT NULL DEFAULT 0
    )`);
    await knex.raw('INSERT INTO kaiju_auth_user_keys_state (id, generation) VALUES (1, 0)');
    // The users an adopted database already has: keyed by the tool, not here (see the header).
    await knex.raw('INSERT INTO kaiju_auth_user_keys_stale (user_id) SELECT id FROM users');

    await knex.raw(`CREATE FUNCTION kaiju_auth_user_keys_stale_row() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${path} AS $fn$
      BEGIN
        INSERT INTO kaiju_auth_user_keys_stale (user_id) VALUES (NEW.id);
        RETURN NULL;
      END $fn$`);
    // TRUNCATE users: no user is left, nor any key, nor anything to key.
    await knex.raw(`CREATE FUNCTION kaiju_auth_user_keys_truncated() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${path} AS $fn$
      BEGIN
        TRUNCATE kaiju_auth_user_keys, kaiju_auth_user_keys_stale;
        RETURN NULL;
      END $fn$`);
    await knex.raw(`CREATE TRIGGER kaiju_auth_user_keys_ins AFTER INSERT ON users
      FOR EACH ROW WHEN (${NOT_OURS}) EXECUTE FUNCTION kaiju_auth_user_keys_stale_row()`);
    await knex.raw(`CREATE TRIGGER kaiju_auth_user_keys_upd AFTER UPDATE OF id, username, email ON users
      FOR EACH ROW WHEN (${NOT_OURS}) EXECUTE FUNCTION kaiju_auth_user_keys_stale_row()`);
    await knex.raw(`CREATE TRIGGER kaiju_auth_user_keys_trunc AFTER TRUNCATE ON users
      FOR EACH STATEMENT EXECUTE FUNCTION kaiju_auth_user_keys_truncated()`);
  },
  async down(knex) {
    for (const trigger of ['kaiju_auth_user_keys_ins', 'kaiju_auth_user_keys_upd', 'kaiju_auth_user_keys_trunc']) {
      await knex.raw(`DROP TRIGGER IF EXISTS ${trigger} ON users`);
    }
    await knex.raw('DROP FUNCTION IF EXISTS kaiju_auth_user_keys_stale_row()');
    await knex.raw('DROP FUNCTION IF EXISTS kaiju_auth_user_keys_truncated()');
    await knex.schema.dropTableIfExists('kaiju_auth_user_keys_state');
    await knex.schema.dropTableIfExists('kaiju_auth_user_keys_stale');
    await knex.schema.dropTableIfExists('kaiju_auth_user_keys');
  },
};
