/**
 * Baseline for `kaiju-auth __complete` on PostgreSQL: the physical floor of "connect to the
 * server, ask it one thing, say goodbye". One `pg.Client`, one query, end, exit. No knex, no CLI.
 */
import pg from 'pg';

const client = new pg.Client({ connectionString: process.argv[2] });
await client.connect();
await client.query("select username from users where left(username, 1) = 'a' order by username collate \"C\" limit 200");
await client.end();
process.exit(0);
