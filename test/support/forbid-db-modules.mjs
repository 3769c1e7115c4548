// `node --import` hook for tests: loading a database driver (knex, pg, PGlite) throws, so a test
// can prove a command (e.g. `token verify --jwks`) never even loads one.
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  if (/^(knex|knex-pglite|pg|pg-connection-string|@electric-sql\\/pglite)(\\/|$)/.test(specifier)) {
    throw new Error('forbidden module in this test: ' + specifier);
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
