/** Shared bench helpers: medians and bench/results.json (each bench merges under its own key). */
import { readFile, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function recordResult(key, value) {
  let all = {};
  try {
    all = JSON.parse(await readFile(RESULTS, 'utf8'));
  } catch {
    /* first result */
  }
  all[key] = { ...value, measured_at: new Date().toISOString() };
  await writeFile(RESULTS, `${JSON.stringify(all, null, 2)}\n`);
}

export function adminUrlFor(adminUrl, database) {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Where the PostgreSQL benches make their own databases. */
export const BENCH_ADMIN_URL = process.env.KAIJU_AUTH_BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Size libuv's pool as the CLI launcher does (one thread per CPU, at least 4). It is fixed at its
 * first use, so a bench that hashes re-runs itself with the variable set; returns only in the child.
 */
export function ensureThreadPool(scriptUrl) {
  if (process.env.UV_THREADPOOL_SIZE) return;
  const size = String(Math.max(4, os.availableParallelism()));
  const r = spawnSync(process.execPath, [fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, UV_THREADPOOL_SIZE: size },
  });
  process.exit(r.status ?? 1);
}
