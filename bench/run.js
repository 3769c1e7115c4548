#!/usr/bin/env node
/**
 * `npm run bench` (which builds first): runs every bench/*.bench.mjs in name order, each in its
 * own process; each prints its figures and merges them into bench/results.json under its own
 * key. Builds nothing itself. `node bench/run.js startup` runs only the files whose name contains
 * "startup".
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  console.error(`bench: no bench/*.bench.mjs${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(2);
}

const failed = [];
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, [path.join(dir, file)], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(`${file} (exit ${r.status ?? r.signal})`);
}
console.log(`\nbench: results in ${path.relative(process.cwd(), path.join(dir, 'results.json')) || 'bench/results.json'}`);
if (failed.length > 0) {
  console.error(`bench: failed: ${failed.join(', ')}`);
  process.exit(1);
}
