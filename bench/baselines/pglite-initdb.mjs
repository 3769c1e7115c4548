/**
 * Baseline for `kaiju-auth init` on a new embedded data directory: the physical floor of "create
 * the database, and hash the passwords of the users it seeds". Creates a PGlite cluster in DIR
 * (the `pgdata` of a kaiju-auth data directory) the way the tool does (PGlite on a host
 * directory: it runs initdb), runs one query, closes; then hashes N passwords with bcrypt at COST,
 * all at once on libuv's pool (as the tool does, one per CPU at a time). No knex, no migrations,
 * no CLI, no lock. Usage: pglite-initdb.mjs DIR [N COST].
 *
 * One after the other, as a script would do them: init may do better by overlapping them.
 * It exits explicitly, as the CLI does (see pglite-one-query.mjs).
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PGlite } from '@electric-sql/pglite';

const [dir, n = '0', cost = '13'] = process.argv.slice(2);
mkdirSync(dir, { recursive: true });
const db = new PGlite({ dataDir: dir });
await db.waitReady;
await db.query('select 1');
await db.close();

const bcrypt = createRequire(import.meta.url)('bcrypt');
await Promise.all(Array.from({ length: Number(n) }, (_, i) => bcrypt.hash(`a baseline password ${i}`, Number(cost))));
process.exit(0);
