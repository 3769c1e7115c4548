/**
 * Running the built CLI as a user would: `node bin/kaiju-auth.js ...` in a subprocess, with a
 * clean environment (no KAIJU_AUTH_* or DATABASE_URL leaking in from the test runner), fast
 * bcrypt and no failed-login delay unless a test sets them. Run `npm run build` first.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/kaiju-auth.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string;
  env?: Record<string, string | undefined>;
  /** Extra `node` flags (e.g. `--import` hooks). */
  nodeArgs?: string[];
  cwd?: string;
}

export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('KAIJU_AUTH_') || k === 'DATABASE_URL' || k.startsWith('PG')) continue;
    env[k] = v;
  }
  Object.assign(env, {
    NO_COLOR: '1',
    KAIJU_AUTH_BCRYPT_ROUNDS: '4',
    KAIJU_AUTH_FAILED_LOGIN_DELAY: '0',
    KAIJU_AUTH_FAILED_LOGIN_JITTER: '0',
    KAIJU_AUTH_LOCK_TIMEOUT: '120s',
  });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
      env: cleanEnv(options.env),
      // Not the repository: `init` would seed its ./fixtures/users.
      cwd: options.cwd ?? os.tmpdir(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** The `{"error": {...}}` document a `--json` run writes to stderr on failure. */
export function jsonError(r: CliResult): { code: string; message: string; exit: number } {
  const line = r.stderr.trim().split('\n').reverse().find((l) => l.startsWith('{"error"'));
  if (!line) throw new Error(`no JSON error on stderr: ${r.stderr}`);
  return (JSON.parse(line) as { error: { code: string; message: string; exit: number } }).error;
}
