/**
 * Fast effective permissions. A user's effective permissions are the enabled permissions of its
 * groups; joining every grant and checking each permission costs about 2 microseconds a grant on
 * the server, on every login and token. So each group's enabled permissions are kept, sorted, in
 * one row of `kaiju_auth_group_grants`, and a user's permissions are a handful of index lookups.
 *
 * The rows are kept by triggers on kaiju's own tables, so they stay right whoever writes: this
 * tool, or the Python kaiju_auth app sharing the database. Each refresh first locks the groups'
 * rows FOR UPDATE: a concurrent writer of the same group's grants (whose foreign-key check takes
 * KEY SHARE on that row) waits, and the refresh reads a snapshot taken after the lock (READ
 * COMMITTED, the default of both). The trigger functions are SECURITY DEFINER with a pinned
 * search_path, so an app role that may write kaiju's tables need not have rights on ours.
 *
 * `kaiju_auth_user_permission_sets` answers in one round trip with plans cached per connection
 * (PL/pgSQL), which stays safe through PgBouncer in transaction mode (unlike named statements).
 */
import type { Knex } from 'knex';
import type { Migration } from '../src/db/migrator.js';

async function schemaName(knex: Knex): Promise<string> {
  const row = (await knex.raw('select current_schema() as s')).rows[0] as { s: string };
  return row.s;
}

/** `"schema"` quoted as an identifier. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export const migration: Migration = {
  name: '20260101000003_group_grants',
  async up(knex) {
    const path = ident(await schemaName(knex));
    await knex.raw(`CREATE TABLE kaiju_auth_group_grants (
      group_id TEXT PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
      permissions TEXT[] NOT NULL
    )`);

    await knex.raw(`CREATE FUNCTION kaiju_auth_refresh_group_grants(p_groups TEXT[]) RETURNS void
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${path} AS $fn$
      BEGIN
        IF p_groups IS NULL OR cardinality(p_groups) = 0 THEN
          RETURN;
        END IF;
        PERFORM 1 FROM groups WHERE id = ANY (p_groups) ORDER BY id FOR UPDATE;
        INSERT INTO kaiju_auth_group_grants (group_id, permissions)
        SELECT g.id,
               array(SELECT gp.permission_id
                       FROM group_permissions gp
                       JOIN permissions p ON p.id = gp.permission_id
                      WHERE gp.group_id = g.id AND p.enabled
                      ORDER BY gp.permission_id COLLATE "C")
          FROM groups g
         WHERE g.id = ANY (p_groups)
        ON CONFLICT (group_id) DO UPDATE SET permissions = excluded.permissions
         WHERE kaiju_auth_group_grants.permissions IS DISTINCT FROM excluded.permissions;
      END $fn$`);

    await knex.raw(`CREATE FUNCTION kaiju_auth_group_permissions_changed() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${path} AS $fn$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          PERFORM kaiju_auth_refresh_group_grants(array(SELECT DISTINCT group_id FROM new_rows));
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM kaiju_auth_refresh_group_grants(array(SELECT DISTINCT group_id FROM old_rows));
        ELSIF TG_OP = 'UPDATE' THEN
          PERFORM kaiju_auth_refresh_group_grants(array(SELECT group_id FROM new_rows UNION SELECT group_id FROM old_rows));
        ELSE -- TRUNCATE: no grant is left
          UPDATE kaiju_auth_group_grants SET permissions = '{}' WHERE permissions <> '{}';
        END IF;
        RETURN NULL;
      END $fn$`);

    await knex.raw(`CREATE FUNCTION kaiju_auth_permissions_changed() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${path} AS $fn$
      BEGIN
        IF TG_OP = 'UPDATE' THEN
          PERFORM kaiju_auth_refresh_group_grants(array(
            SELECT DISTINCT gp.group_id
              FROM new_rows n
              JOIN old_rows o ON o.id = n.id
              JOIN group_permissions gp ON gp.permission_id = n.id
             WHERE n.enabled IS DISTINCT FROM o.enabled));
        ELSE -- TRUNCATE (which must cascade to group_permissions)
          UPDATE kaiju_auth_group_grants SET permissions = '{}' WHERE permissions <> '{}';
        END IF;
        RETURN NULL;
      END $fn$`);

    // One trigger per event: a trigger with transition tables may have only one event.
    await knex.raw(`CREATE TRIGGER kaiju_auth_group_grants_ins AFTER INSERT ON group_permissions
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kaiju_auth_group_permissions_changed()`);
    await knex.raw(`CREATE TRIGGER kaiju_auth_group_grants_del AFTER DELETE ON group_permissions
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION kaiju_auth_group_permissions_changed()`);
    await knex.raw(`CREATE TRIGGER kaiju_auth_group_grants_upd AFTER UPDATE ON group_permissions
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kaiju_auth_group_permissions_changed()`);
    await knex.raw(`CREATE TRIGGER kaiju_auth_group_grants_trunc AFTER TRUNCATE ON group_permissions
      FOR EACH STATEMENT EXECUTE FUNCTION kaiju_auth_group_permissions_changed()`);
    await knex.raw(`CREATE TRIGGER kaiju_auth_group_grants_perm_upd AFTER UPDATE ON permissions
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kaiju_auth_permissions_changed()`);
    await knex.raw(`CREATE TRIGGER kaiju_auth_group_grants_perm_trunc AFTER TRUNCATE ON permissions
      FOR EACH STATEMENT EXECUTE FUNCTION kaiju_auth_permissions_changed()`);

    // One round trip, one statement per branch (PL/pgSQL caches each plan): a row per group of
    // the user (`own`; permissions NULL for a group that grants nothing), or one row with `own`
    // false for a user without groups; plus the default group's row (user_id NULL). No user row:
    // no such user. The caller merges.
    const own = (where: string) => `
            SELECT u.id, ug.group_id IS NOT NULL, c.permissions
              FROM users u
              LEFT JOIN user_groups ug ON ug.user_id = u.id
              LEFT JOIN kaiju_auth_group_grants c ON c.group_id = ug.group_id
             WHERE ${where}`;
    const withDefault = (where: string) => `${own(where)}
            UNION ALL
            SELECT NULL::uuid, false, c.permissions
              FROM kaiju_auth_group_grants c
             WHERE c.group_id = p_default_group`;
    await knex.raw(`CREATE FUNCTION kaiju_auth_user_permission_sets(p_user TEXT, p_by_id BOOLEAN, p_default_group TEXT)
      RETURNS TABLE (user_id UUID, own BOOLEAN, permissions TEXT[]) LANGUAGE plpgsql STABLE AS $fn$
      BEGIN
        IF p_default_group IS NULL THEN
          IF p_by_id THEN RETURN QUERY${own('u.id = p_user::uuid')};
          ELSE RETURN QUERY${own('u.username = p_user')};
          END IF;
        ELSIF p_by_id THEN RETURN QUERY${withDefault('u.id = p_user::uuid')};
        ELSE RETURN QUERY${withDefault('u.username = p_user')};
        END IF;
      END $fn$`);

    // Adopted databases already have grants.
    await knex.raw(`SELECT kaiju_auth_refresh_group_grants(array(SELECT id FROM groups))`);
  },
  async down(knex) {
    await knex.raw('DROP FUNCTION IF EXISTS kaiju_auth_user_permission_sets(TEXT, BOOLEAN, TEXT)');
    for (const [trigger, table] of [
      ['kaiju_auth_group_grants_ins', 'group_permissions'],
      ['kaiju_auth_group_grants_del', 'group_permissions'],
      ['kaiju_auth_group_grants_upd', 'group_permissions'],
      ['kaiju_auth_group_grants_trunc', 'group_permissions'],
      ['kaiju_auth_group_grants_perm_upd', 'permissions'],
      ['kaiju_auth_group_grants_perm_trunc', 'permissions'],
    ]) {
      await knex.raw(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`);
    }
    await knex.raw('DROP FUNCTION IF EXISTS kaiju_auth_permissions_changed()');
    await knex.raw('DROP FUNCTION IF EXISTS kaiju_auth_group_permissions_changed()');
    await knex.raw('DROP FUNCTION IF EXISTS kaiju_auth_refresh_group_grants(TEXT[])');
    await knex.schema.dropTableIfExists('kaiju_auth_group_grants');
  },
};
