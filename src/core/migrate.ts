/**
 * `migrate` as the tool and the library run it: every pending migration of the shipped list, then,
 * in the same transaction, the derived group grants checked against kaiju's tables and rebuilt
 * where they differ (none should; a database migrated by an older build may hold rows its race
 * left wrong, see migration 5).
 */
import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations/index.js';
import { migrateLatest, type MigrationRun } from '../db/migrator.js';
import { rebuildGroupGrants } from './group-grants.js';

export function migrateSchema(knex: Knex, options: { dryRun?: boolean } = {}): Promise<MigrationRun> {
  return migrateLatest(knex, MIGRATIONS, { ...options, repair: rebuildGroupGrants });
}
