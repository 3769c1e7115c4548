/**
 * The schema as the tool and the library see it: the shipped migration list (the core owns which
 * migrations exist; src/db runs them), applied, rolled back, listed and checked.
 *
 * `migrate` runs every pending migration, then, in the same transaction, brings derived data up to
 * date: the group grants checked against kaiju's tables and rebuilt where they differ (none should;
 * a database migrated by an older build may hold rows its race left wrong, see migration 5), and
 * the look-alike keys of users nobody has keyed yet (an adopted database's, see migration 6).
 */
import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations/index.js';
import {
  assertSchemaCurrent as assertMigrated,
  migrateDown,
  migrateLatest,
  migrationStatus,
  type MigrateDownOptions,
  type MigrationRun,
  type MigrationState,
} from '../db/migrator.js';
import { rebuildGroupGrants } from './group-grants.js';
import { lockUserKeys } from './user-keys.js';

export type { MigrateDownOptions, MigrationRun, MigrationState };
export { describeDrops, tablesWithData, type DroppedTable } from '../db/migrator.js';

async function bringDerivedDataUpToDate(trx: Knex.Transaction): Promise<number> {
  const rebuilt = await rebuildGroupGrants(trx);
  await lockUserKeys(trx, { writing: false });
  return rebuilt;
}

export function migrateSchema(knex: Knex, options: { dryRun?: boolean } = {}): Promise<MigrationRun> {
  return migrateLatest(knex, MIGRATIONS, { ...options, repair: bringDerivedDataUpToDate });
}

/**
 * Roll back the last batch: refused when it holds a migration this build does not know, or when it
 * would drop tables holding data without `dropData`.
 */
export function rollbackSchema(knex: Knex, options: MigrateDownOptions = {}): Promise<MigrationRun> {
  return migrateDown(knex, MIGRATIONS, options);
}

/** Every shipped migration, applied or pending. */
export function schemaMigrations(knex: Knex): Promise<MigrationState[]> {
  return migrationStatus(knex, MIGRATIONS);
}

/** Fails with `db.schema_missing` / `db.schema_outdated` (remedy: migrate) unless every migration is applied. */
export function assertSchemaCurrent(knex: Knex): Promise<void> {
  return assertMigrated(knex, MIGRATIONS);
}
