/**
 * The group grants (`kaiju_auth_group_grants`, migration 3) made consistent under any interleaving
 * of writers, at any isolation level. Migration 3 recomputed a group from a snapshot under the
 * group's row lock, but a permission's `enabled` and a grant of it were never ordered: a grant
 * inserted while an UPDATE of `enabled` was in flight read the old flag, and the UPDATE's trigger
 * could not see the uncommitted grant (a foreign key's KEY SHARE does not conflict with a plain
 * UPDATE), so a disabled permission stayed granted for good.
 *
 * Now every event about a permission p, whatever writes it (a grant or revoke of p, a grant moved
 * to or from p, p enabled or disabled, p deleted), first WRITES p's row in
 * `kaiju_auth_permission_locks` (permissions sorted), and only then, in a later statement (a new
 * snapshot under READ COMMITTED), reads what it depends on: whether p is enabled, or which groups
 * grant p. The row is held until commit, so events about one permission are serialised and each
 * sees everything the previous one committed; under REPEATABLE READ or SERIALIZABLE the second
 * writer of the row gets a serialization failure instead (a write, not just a lock, makes that so).
 * Each event then applies a delta to the group rows (add or remove p), on the newest version of
 * each row, in group order: the membership of p in a group's row is decided only by the events
 * about p, the last of which saw the final state. `docs`: README, "What migrate does".
 *
 * `kaiju_auth_group_grants_drift()` lists the groups whose row differs from kaiju's tables (for
 * `status`), `kaiju_auth_rebuild_group_grants()` rewrites them under SHARE locks on kaiju's grant
 * tables (for `migrate`), and this migration runs it once, repairing rows the old race left wrong.
 */
import type { Knex } from 'knex';
import type { Migration } from '../src/db/migrator.js';

async function schemaPath(knex: Knex): Promise<string> {
  const row = (await knex.raw('select current_schema() as s')).rows[0] as { s: string };
  return `"${row.s.replace(/"/g, '""')}"`;
}

/** A group's wanted row: its enabled granted permissions in byte order (`g` is the group id expression). */
const wanted = (g: string) => `array(SELECT gp.permission_id
                 FROM group_permissions gp JOIN permissions p ON p.id = gp.permission_id
                WHERE gp.group_id = ${g} AND p.enabled
                ORDER BY gp.permission_id COLLATE "C")`;

/**
 * Statements that apply changes to the group rows: `removed` and `added` are queries of (g, p)
 * pairs. The group rows are locked first, in one order; removals touch existing rows only (a
 * deleted group's row is gone with it); additions insert a row for a group that has none. Each
 * runs after the permission locks, so its reads see what the events before it committed.
 */
function applyChanges(removed: string | null, added: string | null): string {
  const parts = [removed, added].filter((q): q is string => q !== null);
  const out = [
    `PERFORM 1 FROM kaiju_auth_group_grants
      WHERE group_id IN (${parts.map((q) => `SELECT g FROM (${q}) s`).join(' UNION ')})
      ORDER BY group_id FOR UPDATE;`,
  ];
  if (removed) {
    out.push(`UPDATE kaiju_auth_group_grants c
         SET permissions = array(SELECT x FROM unnest(c.permissions) x WHERE x <> ALL (d.perms) ORDER BY x COLLATE "C")
        FROM (SELECT g, array_agg(p) AS perms FROM (${removed}) r GROUP BY g) d
       WHERE c.group_id = d.g AND c.permissions && d.perms;`);
  }
  if (added) {
    out.push(`INSERT INTO kaiju_auth_group_grants AS c (group_id, permissions)
      SELECT g, array(SELECT x FROM unnest(d.perms) x GROUP BY x ORDER BY x COLLATE "C")
        FROM (SELECT g, array_agg(p) AS perms FROM (${added}) a GROUP BY g) d
       ORDER BY g
      ON CONFLICT (group_id) DO UPDATE
         SET permissions = array(SELECT x FROM unnest(c.permissions || excluded.permissions) x GROUP BY x ORDER BY x COLLATE "C")
       WHERE NOT c.permissions @> excluded.permissions;`);
  }
  return out.join('\n        ');
}

/** Pairs of `rows` (a transition table of group_permissions) whose permission is enabled now. */
const enabledPairs = (rows: string) =>
  `SELECT t.group_id AS g, t.permission_id AS p FROM ${rows} t JOIN permissions e ON e.id = t.permission_id WHERE e.enabled`;
const allPairs = (rows: string) => `SELECT t.group_id AS g, t.permission_id AS p FROM ${rows} t`;

export const migration: Migration = {
  name: '20260101000005_group_grants_locking',
  async up(knex) {
    const path = await schemaPath(knex);
    const definer = `LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${path}`;
    await knex.raw(`CREATE TABLE kaiju_auth_permission_locks (
      permission_id TEXT PRIMARY KEY,
      version BIGINT NOT NULL
    )`);

    // A write (not only a lock): a REPEATABLE READ writer that comes second fails instead of
    // reading a snapshot from before the first one committed.
    await knex.raw(`CREATE FUNCTION kaiju_auth_lock_permissions(p_ids TEXT[]) RETURNS void ${definer} AS $fn$
      BEGIN
        IF p_ids IS NULL OR cardinality(p_ids) = 0 THEN
          RETURN;
        END IF;
        INSERT INTO kaiju_auth_permission_locks AS l (permission_id, version)
        SELECT DISTINCT id, 1 FROM unnest(p_ids) id WHERE id IS NOT NULL ORDER BY id
        ON CONFLICT (permission_id) DO UPDATE SET version = l.version + 1;
      END $fn$`);

    await knex.raw(`CREATE OR REPLACE FUNCTION kaiju_auth_group_permissions_changed() RETURNS trigger ${definer} AS $fn$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          PERFORM kaiju_auth_lock_permissions(array(SELECT permission_id FROM new_rows));
          ${applyChanges(null, enabledPairs('new_rows'))}
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM kaiju_auth_lock_permissions(array(SELECT permission_id FROM old_rows));
          ${applyChanges(allPairs('old_rows'), null)}
        ELSIF TG_OP = 'UPDATE' THEN
          PERFORM kaiju_auth_lock_permissions(array(SELECT permission_id FROM old_rows UNION SELECT permission_id FROM new_rows));
          ${applyChanges(allPairs('old_rows'), null)}
          ${applyChanges(null, enabledPairs('new_rows'))}
        ELSE -- TRUNCATE: no grant is left (it waits for every writer of group_permissions)
          UPDATE kaiju_auth_group_grants SET permissions = '{}' WHERE permissions <> '{}';
        END IF;
        RETURN NULL;
      END $fn$`);

    // The groups granting a changed permission are read after its lock: a grant of it committed
    // by then is seen; one not yet made waits for this transaction and then reads the new flag.
    const granting = (enabled: boolean) => `SELECT gp.group_id AS g, gp.permission_id AS p
               FROM group_permissions gp JOIN permissions e ON e.id = gp.permission_id
              WHERE gp.permission_id = ANY (v_changed) AND ${enabled ? '' : 'NOT '}e.enabled`;
    await knex.raw(`CREATE OR REPLACE FUNCTION kaiju_auth_permissions_changed() RETURNS trigger ${definer} AS $fn$
      DECLARE
        v_changed TEXT[];
      BEGIN
        IF TG_OP = 'UPDATE' THEN
          v_changed := array(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.enabled IS DISTINCT FROM o.enabled);
          IF cardinality(v_changed) = 0 THEN
            RETURN NULL;
          END IF;
          PERFORM kaiju_auth_lock_permissions(v_changed);
          ${applyChanges(granting(false), granting(true))}
        ELSE -- TRUNCATE (which must cascade to group_permissions)
          UPDATE kaiju_auth_group_grants SET permissions = '{}' WHERE permissions <> '{}';
        END IF;
        RETURN NULL;
      END $fn$`);

    await knex.raw(`CREATE FUNCTION kaiju_auth_group_grants_drift()
      RETURNS TABLE (group_id TEXT, stored TEXT[], wanted TEXT[]) ${definer} STABLE AS $fn$
      BEGIN
        RETURN QUERY
        SELECT g.id, coalesce(c.permissions, '{}'), w.permissions
          FROM groups g
          LEFT JOIN kaiju_auth_group_grants c ON c.group_id = g.id
          CROSS JOIN LATERAL (SELECT ${wanted('g.id')} AS permissions) w
         WHERE coalesce(c.permissions, '{}') IS DISTINCT FROM w.permissions
         ORDER BY g.id;
      END $fn$`);

    // Checked without locks first (one consistent snapshot); only a drift takes SHARE locks,
    // which wait for writers in flight and hold new ones off while the rows are rewritten.
    await knex.raw(`CREATE FUNCTION kaiju_auth_rebuild_group_grants() RETURNS INTEGER ${definer} AS $fn$
      DECLARE
        v_fixed INTEGER;
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM kaiju_auth_group_grants_drift()) THEN
          RETURN 0;
        END IF;
        LOCK TABLE group_permissions, permissions IN SHARE MODE;
        INSERT INTO kaiju_auth_group_grants AS c (group_id, permissions)
        SELECT d.group_id, d.wanted FROM kaiju_auth_group_grants_drift() d ORDER BY d.group_id
        ON CONFLICT (group_id) DO UPDATE SET permissions = excluded.permissions;
        GET DIAGNOSTICS v_fixed = ROW_COUNT;
        RETURN v_fixed;
      END $fn$`);

    await knex.raw('SELECT kaiju_auth_rebuild_group_grants()');
  },
  async down(knex) {
    const path = await schemaPath(knex);
    const definer = `LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${path}`;
    // Migration 3's trigger functions, as they were.
    await knex.raw(`CREATE OR REPLACE FUNCTION kaiju_auth_group_permissions_changed() RETURNS trigger ${definer} AS $fn$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          PERFORM kaiju_auth_refresh_group_grants(array(SELECT DISTINCT group_id FROM new_rows));
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM kaiju_auth_refresh_group_grants(array(SELECT DISTINCT group_id FROM old_rows));
        ELSIF TG_OP = 'UPDATE' THEN
          PERFORM kaiju_auth_refresh_group_grants(array(SELECT group_id FROM new_rows UNION SELECT group_id FROM old_rows));
        ELSE
          UPDATE kaiju_auth_group_grants SET permissions = '{}' WHERE permissions <> '{}';
        END IF;
        RETURN NULL;
      END $fn$`);
    await knex.raw(`CREATE OR REPLACE FUNCTION kaiju_auth_permissions_changed() RETURNS trigger ${definer} AS $fn$
      BEGIN
        IF TG_OP = 'UPDATE' THEN
          PERFORM kaiju_auth_refresh_group_grants(array(
            SELECT DISTINCT gp.group_id
              FROM new_rows n
              JOIN old_rows o ON o.id = n.id
              JOIN group_permissions gp ON gp.permission_id = n.id
             WHERE n.enabled IS DISTINCT FROM o.enabled));
        ELSE
          UPDATE kaiju_auth_group_grants SET permissions = '{}' WHERE permissions <> '{}';
        END IF;
        RETURN NULL;
      END $fn$`);
    await knex.raw('DROP FUNCTION IF EXISTS kaiju_auth_rebuild_group_grants()');
    await knex.raw('DROP FUNCTION IF EXISTS kaiju_auth_group_grants_drift()');
    await knex.raw('DROP FUNCTION IF EXISTS kaiju_auth_lock_permissions(TEXT[])');
    await knex.schema.dropTableIfExists('kaiju_auth_permission_locks');
  },
};
