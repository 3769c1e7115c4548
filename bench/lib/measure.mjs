/**
 * Shared by the benchmarks: timing of whole processes, run interleaved (each round runs every
 * case once, in a rotating order, so drift in machine load hits all cases alike), summary
 * statistics, and merging a benchmark's results into bench/results.json under its own key.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(BENCH_DIR, '..');
export const RESULTS = path.join(BENCH_DIR, 'results.json');
/** Scratch space for benchmarks (git-ignored). */
export const WORK_DIR = path.join(BENCH_DIR, '.work');

/** Wall time of one process run, in ms; fails loudly if it does not exit 0. */
export function timeProcess(command, args, options = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) {
    throw new Error(`${[command, ...args].join(' ')} exited ${r.status ?? r.signal}: ${r.stderr?.toString() ?? ''}`);
  }
  return ms;
}

/**
 * Run every case `runs` times, interleaved, after `warmup` unrecorded rounds.
 * cases: {name: () => ms}. Returns {name: number[]}.
 */
export function interleaved(cases, { runs, warmup = 2, onRound } = {}) {
  const names = Object.keys(cases);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -warmup; round < runs; round++) {
    const offset = ((round % names.length) + names.length) % names.length;
    const order = [...names.slice(offset), ...names.slice(0, offset)];
    for (const name of order) {
      const ms = cases[name]();
      if (round >= 0) samples[name].push(ms);
    }
    if (round >= 0) onRound?.(round + 1);
  }
  return samples;
}

export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(values) {
  const round = (x) => Math.round(x * 10) / 10;
  return {
    runs: values.length,
    median_ms: round(quantile(values, 0.5)),
    p25_ms: round(quantile(values, 0.25)),
    p75_ms: round(quantile(values, 0.75)),
    min_ms: round(Math.min(...values)),
  };
}

export function machine() {
  return { node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '' };
}

/** Replace this benchmark's entry in bench/results.json, keeping the others'. */
export function mergeResults(key, doc) {
  let all = {};
  try {
    all = JSON.parse(readFileSync(RESULTS, 'utf8'));
  } catch {
    /* first run */
  }
  all[key] = doc;
  writeFileSync(RESULTS, `${JSON.stringify(all, null, 2)}\n`);
}

/** How many runs: BENCH_RUNS overrides the default (e.g. BENCH_RUNS=5 for a quick look). */
export function runsFromEnv(fallback) {
  const n = Number(process.env.BENCH_RUNS);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
