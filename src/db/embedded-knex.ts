/**
 * knex and the knex-pglite dialect, in a module of their own that the embedded backend imports
 * only once PGlite is starting: in the CLI's bundle they are ~0.7 MB of code (knex, lodash, pg),
 * which a static import would load, and parse, before the open could say which database it opens.
 * Through `require`: knex-pglite is CommonJS and requires PGlite's CommonJS build (embedded.ts).
 */
import { createRequire } from 'node:module';
import type { Knex } from 'knex';

const require = createRequire(import.meta.url);

export function loadKnex(): { knexFactory: (config: Knex.Config) => Knex; ClientPgLite: unknown } {
  return { knexFactory: require('knex') as (config: Knex.Config) => Knex, ClientPgLite: require('knex-pglite') };
}
