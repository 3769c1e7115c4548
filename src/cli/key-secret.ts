/**
 * Where the key secret (which encrypts private signing keys at rest) comes from, in order:
 * `--secret-file FILE`, env `KAIJU_AUTH_SECRET`, else, for the embedded database, its own
 * `<data-dir>/secret` (created on first need, mode 0600, so the quick start needs nothing; but
 * only while the keystore has nothing sealed: a lost secret file is reported, never replaced by
 * a new secret that could not open the keys).
 * Against PostgreSQL with none of these, a command that must sign fails with exit 2 saying how
 * to provide one; verifying never asks for it. Resolved lazily: only signing reads it.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import type { KeySecretSource, SecretRequest } from '../core/keys/key-crypto.js';
import { authError } from '../errors.js';
import { homeOf } from '../db/target.js';
import { readNamedFile } from './read-file.js';
import type { Runtime } from './runtime.js';

export const SECRET_FILE_NAME = 'secret';
/** Where `keys rekey` puts the embedded database's next secret until the re-key has committed. */
export const NEW_SECRET_FILE_NAME = 'secret.new';

function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

async function readSecretFile(file: string, flag: string): Promise<string> {
  return stripNewline(await readNamedFile(file, `${flag} ${file}`, 'auth.key.secret_missing', { file }));
}

/** The data directory's own secret, made (32 random bytes, mode 0600) when it has none yet. */
async function dataDirSecret(rt: Runtime, dataDir: string, request: SecretRequest): Promise<string> {
  const file = path.join(dataDir, SECRET_FILE_NAME);
  try {
    // Read at once (a few bytes): an asynchronous read's answer waits behind every PGlite query in
    // flight (PGlite answers on the main thread), and the scrypt that needs it starts that late.
    return stripNewline(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!request.newKeystore) {
    throw authError(
      'auth.key.secret_missing',
      `the key secret ${file} is missing, but the keystore holds keys sealed under it: restore the file from your backup, ` +
        'or give the secret with --secret-file FILE or KAIJU_AUTH_SECRET',
      { file },
    );
  }
  const secret = randomBytes(32).toString('base64url');
  // A dry run seals its rolled-back keys under a secret nobody keeps: it leaves no file behind.
  if (rt.dryRun) return secret;
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    const handle = await fs.open(file, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600);
    try {
      await handle.writeFile(`${secret}\n`);
    } finally {
      await handle.close();
    }
  } catch (err) {
    // Someone made it between our read and our create: theirs is the one.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return stripNewline(await fs.readFile(file, 'utf8'));
    throw err;
  }
  rt.out.notice(`kaiju-auth: created the key secret ${file} (mode 0600); back it up with the database`);
  return secret;
}

export function keySecretSource(rt: Runtime): KeySecretSource {
  const { config } = rt;
  if (config.secretFile !== null) {
    const file = config.secretFile;
    return () => readSecretFile(file, '--secret-file');
  }
  const env = rt.io.env.KAIJU_AUTH_SECRET;
  if (env !== undefined && env !== '') return env;
  const dataDir = homeOf(config.target);
  if (dataDir !== null) return (request) => dataDirSecret(rt, dataDir, request);
  return () => {
    throw authError(
      'auth.key.secret_missing',
      'signing needs the key secret that encrypts the private keys: set KAIJU_AUTH_SECRET or pass --secret-file FILE ' +
        '(at least 16 bytes, e.g. `openssl rand -base64 32`; the same secret on every run against this database)',
    );
  };
}

/** Whether the key secret is the embedded data directory's own file (no --secret-file, no env). */
export function usesDataDirSecret(rt: Runtime): string | null {
  const { config } = rt;
  if (config.secretFile !== null) return null;
  const env = rt.io.env.KAIJU_AUTH_SECRET;
  if (env !== undefined && env !== '') return null;
  return homeOf(config.target);
}

/**
 * The secret a re-key is rolling out to, also tried when the key secret does not open the
 * keystore: `--new-secret-file` (rekey only), env KAIJU_AUTH_NEW_SECRET, else for the embedded
 * database `<data-dir>/secret.new` (left by a `keys rekey` cut off between its commit and the
 * rename); null when none.
 */
export function newKeySecretSource(rt: Runtime, newSecretFile: string | null = null): KeySecretSource {
  if (newSecretFile !== null) return () => readSecretFile(newSecretFile, '--new-secret-file');
  const env = rt.io.env.KAIJU_AUTH_NEW_SECRET;
  if (env !== undefined && env !== '') return env;
  const dataDir = usesDataDirSecret(rt);
  if (dataDir === null) return null;
  const file = path.join(dataDir, NEW_SECRET_FILE_NAME);
  return async () => {
    try {
      return stripNewline(await fs.readFile(file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
  };
}

/** Write `secret` to a new file `dir/name` (mode 0600) and fsync it; an existing file is an error. */
export async function writeSecretFile(dir: string, name: string, secret: string): Promise<string> {
  const file = path.join(dir, name);
  const handle = await fs.open(file, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600);
  try {
    await handle.writeFile(`${secret}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return file;
}

/** A fresh random secret (32 bytes, base64url). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}
