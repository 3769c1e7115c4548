import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
