// `node --import` hook for tests: the first load of PGlite, through `import` (a resolve hook) or
// `require` (the CommonJS loader, which the embedded database path uses), writes a marker line to
// stderr at once (a synchronous write), so a test can tell what the command wrote before PGlite
// was even loaded (issue 13 item 11: something on screen before PGlite's seconds of start-up).
import Module, { register } from 'node:module';
import { writeSync } from 'node:fs';

const MARKER = '[test hook: PGlite loading]';
const PGLITE = /^@electric-sql\/pglite(\/|$)/;

const hooks = `
import { writeSync } from 'node:fs';
let marked = false;
export async function resolve(specifier, context, next) {
  if (!marked && ${PGLITE}.test(specifier)) {
    marked = true;
    writeSync(2, ${JSON.stringify(`${MARKER} (import)\n`)});
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

let marked = false;
const load = Module._load;
Module._load = function markPGlite(request, parent, isMain) {
  if (!marked && PGLITE.test(request)) {
    marked = true;
    writeSync(2, `${MARKER} (require)\n`);
  }
  return load.call(this, request, parent, isMain);
};
