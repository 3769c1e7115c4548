import { PGlite } from '@electric-sql/pglite';
const db = new PGlite({ dataDir: process.argv[2] });
await db.waitReady;
await db.query('select count(*) from users');
await db.close();
