/**
 * Where secrets come from (docs/CLI.md, Secrets), in order: `--password-stdin` (lines of stdin),
 * `--password-file FILE`, env `KAIJU_AUTH_PASSWORD`, a masked prompt on a terminal (typed twice
 * when setting one), else a usage error saying how to pass it. Never from argv.
 */
import { cliError } from './cli-errors.js';
import { readNamedFile } from './read-file.js';
import type { Runtime } from './runtime.js';

export interface SecretFlags {
  passwordStdin?: boolean;
  passwordFile?: string;
}

/** Options every command that takes a password declares. */
export const SECRET_OPTIONS: [flags: string, description: string][] = [
  ['--password-stdin', 'read the password from the first line of stdin'],
  ['--password-file <file>', 'read the password from the first line of a file (mode 0600 advised)'],
];

let stdinLines: Promise<string[]> | null = null;

/** All of stdin as lines (read once per process; a trailing CR is dropped). */
export function readStdinLines(rt: Runtime): Promise<string[]> {
  stdinLines ??= (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of rt.io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    const text = Buffer.concat(chunks).toString('utf8');
    const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  })();
  return stdinLines;
}

export interface SecretRequest {
  /** What the secret is, for prompts and errors: "password for alice", "new password". */
  label: string;
  /** Ask twice on a terminal (setting a password). */
  confirm?: boolean;
  /** With several secrets from one `--password-stdin` or `--password-file` (old, new): which line. Default 0. */
  line?: number;
  /** The environment variable for this secret (default KAIJU_AUTH_PASSWORD). */
  env?: string;
  /** Checked at an interactive prompt so a bad value is asked again (returns a message or true). */
  validate?: (value: string) => string | true;
}

/** One secret from the first channel that has it. */
export async function readSecret(rt: Runtime, flags: SecretFlags, req: SecretRequest): Promise<string> {
  if (flags.passwordStdin && rt.interactive) {
    // stdin is a terminal: a person types the line. Asked for with a prompt and read without
    // echo, one line (Enter ends it; no Ctrl-D needed), as the pipe would give it.
    const { askSecret } = await import('./prompts.js');
    return askSecret(`${req.label.charAt(0).toUpperCase()}${req.label.slice(1)} (one line):`, rt.io, undefined, req.validate);
  }
  if (flags.passwordStdin) {
    const lines = await readStdinLines(rt);
    const index = req.line ?? 0;
    const line = lines[index];
    if (line === undefined) {
      throw cliError('cli.secret_missing', `--password-stdin: expected the ${req.label} on line ${index + 1} of stdin`);
    }
    return line;
  }
  if (flags.passwordFile !== undefined) {
    const text = await readNamedFile(flags.passwordFile, `--password-file ${flags.passwordFile}`, 'cli.secret_missing');
    const line = text.split('\n')[req.line ?? 0]?.replace(/\r$/, '');
    if (line === undefined || (line === '' && (req.line ?? 0) > 0)) {
      throw cliError('cli.secret_missing', `--password-file ${flags.passwordFile}: expected the ${req.label} on line ${(req.line ?? 0) + 1}`);
    }
    return line;
  }
  const envName = req.env ?? 'KAIJU_AUTH_PASSWORD';
  const env = rt.io.env[envName];
  if (env !== undefined && env !== '') return env;
  if (rt.interactive) {
    const { askSecret } = await import('./prompts.js');
    const label = req.label.charAt(0).toUpperCase() + req.label.slice(1);
    return askSecret(`${label}:`, rt.io, req.confirm ? `Repeat ${req.label}:` : undefined, req.validate);
  }
  throw cliError(
    'cli.secret_missing',
    `no ${req.label} given: use --password-stdin, --password-file FILE or ${envName} (never on the command line), or run on a terminal`,
  );
}

/** For new passwords at a prompt: kaiju's rules, checked before the value is typed twice. */
export async function passwordRules(): Promise<(value: string) => string | true> {
  const { validatePassword } = await import('../core/validation.js');
  return (value) => {
    try {
      validatePassword(value);
      return true;
    } catch (err) {
      return (err as Error).message;
    }
  };
}
