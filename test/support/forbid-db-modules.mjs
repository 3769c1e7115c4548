// `node --import` hook for tests: loading a database driver (knex, pg, PGlite) throws, so a test
// can prove a command (e.g. `token verify --jwks`) never even loads one. Covers `import` (a
// resolve hook) and `require` (the CommonJS loader, which the embedded database path uses).
import Module, { register } from 'node:module';

const FORBIDDEN = /^(knex|knex-pglite|pg|pg-connection-string|@electric-sql\/pglite)(\/|$)/;

const hooks = `
export async function resolve(specifier, context, next) {
  if (${FORBIDDEN}.test(specifier)) {
    throw new Error('forbidden module in this test: ' + specifier);
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const load = Module._load;
Module._load = function forbidDatabaseModules(request, parent, isMain) {
  if (FORBIDDEN.test(request)) throw new Error(`forbidden module in this test: ${request}`);
  return load.call(this, request, parent, isMain);
};
