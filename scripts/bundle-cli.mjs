/**
 * The CLI as one bundle (`npm run build` runs this after tsc): dist/cli/main.js, which
 * bin/kaiju-auth.js starts, with code split at every `import()` into chunks beside it, so a command
 * still loads only what it needs. Unbundled, a command that opens PostgreSQL resolved, read and
 * compiled ~900 files (knex alone requires ~260 of its own and ~500 of lodash); that file work was
 * most of a short command's start-up. The library (dist/src/index.js) stays tsc's plain modules.
 *
 * Input is tsc's output (dist/src/cli/main.js), so the bundle runs exactly the JavaScript the
 * library and the tests run. What the bundle changes, and why:
 *
 * - `createRequire(import.meta.url)('x')` and `const require = createRequire(import.meta.url)`:
 *   our sources load some CommonJS packages through `require` (it is cheaper than Node's ES
 *   wrapper of a CommonJS package, and keeps one copy of PGlite). In the bundle those calls become
 *   esbuild's `require`, so the packages are bundled too (one copy of knex, shared by the
 *   PostgreSQL client and knex-pglite). Any other use of createRequire(import.meta.url) fails the
 *   build, so a new one is looked at.
 * - Packages that cannot be bundled stay where npm put them, loaded at run time through a
 *   `require` made from the chunk's own URL: native addons (bcrypt, fs-native-extensions), PGlite
 *   (it reads its .wasm and data files beside its own modules), and optional drivers nobody
 *   installs (pg-native).
 * - knex's dialects other than PostgreSQL: knex's dialect table requires all twelve; we always
 *   hand knex its client class, so the others become a module that throws if ever loaded.
 * - pg's stream.js asks at load time whether it runs on Cloudflare Workers by constructing a
 *   `Response`, which on Node 20 loads the whole of undici (fetch) for nothing. In the bundle
 *   that check says "not Cloudflare" (on Node it is never Cloudflare). If pg changes that code
 *   the build fails, so the patch is looked at again.
 * - token verify's worker is an entry point of its own (dist/cli/token-verify-worker.js): the
 *   pool starts it by a URL relative to its own module, and chunks sit beside the entries.
 */
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FROM = path.join(ROOT, 'dist', 'src', 'cli');
const OUT = path.join(ROOT, 'dist', 'cli');

/** Packages loaded from node_modules at run time (see above). */
const EXTERNAL = ['bcrypt', 'fs-native-extensions', '@electric-sql/pglite', '@electric-sql/pglite/*', 'pg-native', 'unhomoglyph/data.json'];

const UNUSED_DIALECTS = /^\.\/(better-sqlite3|cockroachdb|mssql|mysql|mariadb|mysql2|oracle|oracledb|pgnative|redshift|sqlite3)$/;

const REQUIRE_LINE = /^const require = createRequire\(import\.meta\.url\);$/gm;
const REQUIRE_CALL = /createRequire\(import\.meta\.url\)\(/g;

const PG_CLOUDFLARE_CHECK = 'function getStreamFuncs() {\n  if (isCloudflareRuntime()) {';

/** @type {import('esbuild').Plugin} */
const kaijuBundle = {
  name: 'kaiju-auth-cli',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/](src|migrations)[\\/].*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('createRequire(')) return undefined;
      const contents = text.replace(REQUIRE_LINE, '').replace(REQUIRE_CALL, 'require(');
      if (contents.includes('createRequire(')) {
        throw new Error(`${path.relative(ROOT, args.path)}: createRequire used in a way the bundle does not know (see scripts/bundle-cli.mjs)`);
      }
      return { contents, loader: 'js' };
    });
    b.onResolve({ filter: UNUSED_DIALECTS }, (args) =>
      /[\\/]knex[\\/]lib[\\/]dialects[\\/]index\.js$/.test(args.importer) ? { path: args.path, namespace: 'unused-knex-dialect' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'unused-knex-dialect' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`knex dialect ${args.path} is not part of the kaiju-auth CLI`)});`,
      loader: 'js',
    }));
    b.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(PG_CLOUDFLARE_CHECK)) throw new Error(`${args.path}: pg's runtime check changed; look at the patch in scripts/bundle-cli.mjs again`);
      return { contents: text.replace(PG_CLOUDFLARE_CHECK, 'function getStreamFuncs() {\n  if (false) {'), loader: 'js' };
    });
  },
};

await rm(OUT, { recursive: true, force: true });
await build({
  entryPoints: [path.join(FROM, 'main.js'), path.join(FROM, 'token-verify-worker.js')],
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  external: EXTERNAL,
  plugins: [kaijuBundle],
  // CommonJS code in the bundle requires Node's modules and the external packages.
  banner: { js: "import { createRequire as __kaijuCreateRequire } from 'node:module'; const require = __kaijuCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
