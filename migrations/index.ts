/**
 * The ordered list of kaiju-auth migrations. A static list, not a directory scan, so the set that
 * ships is exactly the set that runs, whatever the install layout.
 */
import type { Migration } from '../src/db/migrator.js';
import { migration as kaijuTables } from './20260101000001_kaiju_auth_tables.js';
import { migration as indexesKeystoreAudit } from './20260101000002_indexes_keystore_audit.js';
import { migration as groupGrants } from './20260101000003_group_grants.js';
import { migration as keystoreVerifier } from './20260101000004_keystore_verifier.js';
import { migration as groupGrantsLocking } from './20260101000005_group_grants_locking.js';
import { migration as userKeys } from './20260101000006_user_keys.js';
import { migration as keyLifecycle } from './20260101000007_key_lifecycle.js';

export const MIGRATIONS: readonly Migration[] = [kaijuTables, indexesKeystoreAudit, groupGrants, keystoreVerifier, groupGrantsLocking, userKeys, keyLifecycle];
