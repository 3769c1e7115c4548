#!/usr/bin/env node
/**
 * Writes docs/commands.md from the command table of the build (`npm run docs` builds first).
 * `--check`: write nothing, exit 1 when the file differs (test/unit/commands-doc.test.ts does the
 * same in `npm test`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { commandsDoc } = await import(pathToFileURL(path.join(root, 'dist', 'src', 'cli', 'commands-doc.js')).href);
const file = path.join(root, 'docs', 'commands.md');
const text = await commandsDoc();
if (process.argv.includes('--check')) {
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current !== text) {
    console.error('docs/commands.md is not what the command table gives: run npm run docs');
    process.exit(1);
  }
} else {
  await writeFile(file, text);
  console.log(`wrote ${path.relative(process.cwd(), file) || file}`);
}
