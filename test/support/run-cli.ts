/**
 * Running the built binary as a user would (`node bin/kaiju-auth.js ...`), against a database of
 * its own per test file: a temporary embedded data directory, or a fresh PostgreSQL database.
 * Run `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/db/open.js';
import type { DatabaseTarget } from '../../src/db/target.js';
import { createPgDatabase, dropPgDatabase, type Backend } from './db.js';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/kaiju-auth.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** Written to stdin (which is a pipe, never a TTY); default: empty stdin. */
  input?: string;
  cwd?: string;
}

/** Environment without anything that would pick another database or change behaviour. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('KAIJU_AUTH_') || k.startsWith('PG') || k === 'DATABASE_URL') continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', KAIJU_AUTH_BCRYPT_ROUNDS: '4', KAIJU_AUTH_FAILED_LOGIN_DELAY: '0', KAIJU_AUTH_FAILED_LOGIN_JITTER: '0', ...extra };
}

export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? os.tmpdir(),
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A database for one CLI test file, with the flag that selects it. */
export interface CliTarget {
  backend: Backend;
  /** `--data-dir DIR` or `--database-url URL`. */
  args: string[];
  target: DatabaseTarget;
  /** Work on the database directly (the embedded directory is released before returning). */
  withDb<T>(fn: (knex: Knex) => Promise<T>): Promise<T>;
  cleanup(): Promise<void>;
}

export async function createCliTarget(backend: Backend): Promise<CliTarget> {
  let target: DatabaseTarget;
  let args: string[];
  let cleanup: () => Promise<void>;
  if (backend === 'postgres') {
    const { name, url } = await createPgDatabase();
    target = { kind: 'postgres', url };
    args = ['--database-url', url];
    cleanup = () => dropPgDatabase(name);
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-auth-cli-'));
    const dataDir = path.join(dir, 'data');
    target = { kind: 'embedded', dataDir };
    args = ['--data-dir', dataDir];
    cleanup = () => rm(dir, { recursive: true, force: true });
  }
  return {
    backend,
    args,
    target,
    async withDb(fn) {
      const db = await openDatabase(target);
      try {
        return await fn(db.knex);
      } finally {
        await db.close();
      }
    },
    cleanup,
  };
}

/** The one JSON document of a `--json` run. */
export function json<T = unknown>(r: CliResult): T {
  return JSON.parse(r.stdout) as T;
}
