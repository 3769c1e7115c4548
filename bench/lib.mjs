/** Shared bench helpers: medians and bench/results.json (each bench merges under its own key). */
import { readFile, writeFile } from 'node:fs/promises';
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
