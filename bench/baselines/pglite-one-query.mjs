/**
 * Baseline for `kaiju-auth status`: the physical floor of "open an embedded database and ask it
 * something". Opens the PGlite cluster in DIR (the `pgdata` of a kaiju-auth data directory),
 * runs one query, closes, exits. No knex, no CLI, no lock.
 *
 * It exits explicitly, as the CLI does: left to drain, the event loop would run PGlite's leftover
 * callbacks after close (~100-400 ms here), a cost no caller needs to pay, and the baseline
 * would look slower than the floor really is.
 */
import { PGlite } from '@electric-sql/pglite';

const db = new PGlite({ dataDir: process.argv[2] });
await db.waitReady;
await db.query('select count(*) from users');
await db.close();
process.exit(0);
