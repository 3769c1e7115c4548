import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The floors of the house (docs/architecture.md): each imports only the floors below it.
 *
 *   src/cli          the command line          may import anything below
 *   src/index.ts     the library's entry       core, db, errors
 *   src/core         the services              migrations, db, errors
 *   migrations       the schema's history      db only (what db gives them)
 *   src/db           the floor: the database   errors only
 *   src/errors.ts    coded errors              nothing of ours
 *
 * An import that climbs is refused: static and type imports, re-exports, and `import()` alike.
 * Specifiers are relative, so each rule reads the folder names in them.
 */
const COMMANDER = { name: 'commander', message: "import values from src/cli/commander.ts; 'import type' from commander is fine", allowTypeImports: true };

/**
 * Above src/db nobody asks which backend answered (src/db/open.ts alone picks one): a comparison
 * with a backend's name is refused there.
 */
const BACKEND_BRANCH = {
  selector: "BinaryExpression[operator=/^[!=]==?$/][right.value=/^(embedded|postgres|pglite)$/]",
  message: 'which backend answered is src/db\'s affair: ask the Database (description, backend) or src/db/target.ts',
};

function floor(files, above, why, extraSyntax = []) {
  const regex = `^\\.{1,2}/(?:\\.\\./)*(?:${above})`;
  return {
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [COMMANDER], patterns: [{ regex, message: why }] }],
      'no-restricted-syntax': [
        'error',
        { selector: `ImportExpression[source.value=/${regex.replace(/\//g, '\\/')}/]`, message: why },
        ...extraSyntax,
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/.work/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Blob: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', structuredClone: 'readonly', AbortController: 'readonly', NodeJS: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // commander's values come through src/cli/commander.ts (require: faster start); types may come directly.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: 'commander', message: "import values from src/cli/commander.ts; 'import type' from commander is fine", allowTypeImports: true }] },
      ],
    },
  },
  floor(['src/errors.ts'], '', 'src/errors.ts is the ground floor: it imports nothing of ours.'),
  floor(['src/db/**/*.ts'], '(?:core|cli|index\\.js|(?:src/)?migrations)(?:/|$)|(?:\\.\\./)+migrations/', 'src/db is the floor: it imports only src/errors.ts and itself (no core, cli, migrations).'),
  floor(['migrations/**/*.ts'], '(?:src/(?!db/))', 'a migration imports only what src/db gives it.'),
  floor(['src/core/**/*.ts'], '(?:cli|index\\.js)(?:/|$)', 'src/core never imports the CLI (nor the library entry): cli -> core -> db.', [BACKEND_BRANCH]),
  { files: ['src/cli/**/*.ts'], rules: { 'no-restricted-syntax': ['error', BACKEND_BRANCH] } },
  floor(['src/index.ts'], 'cli/', 'the library entry never imports the CLI.'),
  { files: ['src/cli/commander.ts', 'test/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': 'off' } },
  {
    // The core is a library: no console, no process (the CLI owns them).
    files: ['src/core/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-globals': ['error', { name: 'process', message: 'src/core never touches process; take it as an option.' }],
    },
  },
);
