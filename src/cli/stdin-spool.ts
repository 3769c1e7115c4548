/**
 * `user import -`: the import reads its input twice (all of it is checked before the first
 * write), so stdin is first copied to a temporary file. That copy holds passwords, so it is never
 * plaintext on disk: it is encrypted (AES-256-CTR, a stream cipher: the spool is exactly as long
 * as the input and decrypts from the start as often as it is read) under a random key and counter
 * that exist only in this process's memory. What a SIGKILL or a crash leaves behind is noise; the
 * next import from stdin removes it. The directory is 0700 and the file 0600 as well, and both go
 * when the command ends, whatever way it ends short of SIGKILL (an exit hook).
 *
 * Spool directories are named `kaiju-auth-import-PID-XXXXXX` so that one whose process is gone
 * can be recognised and removed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import type { ImportInput } from '../core/bulk/source.js';

const CIPHER = 'aes-256-ctr';
const PREFIX = 'kaiju-auth-import-';

export interface Spool {
  input: ImportInput;
  /** Remove the spool now (also runs at exit, whatever happens). */
  remove(): void;
}

/** True unless `pid` is certainly gone (EPERM: it exists, as someone else's). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Spools of imports whose process is gone (killed outright): ours (same owner), named with a pid
 * that no longer runs. A live pid, even a reused one, keeps its spool: never a wrong delete.
 */
async function removeDeadSpools(tmp: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const pid = Number(/^kaiju-auth-import-(\d+)-[^-]+$/.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || pidAlive(pid)) continue;
    const dir = path.join(tmp, name);
    const s = await stat(dir).catch(() => null);
    if (!s?.isDirectory() || (uid !== undefined && s.uid !== uid)) continue;
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Copy `stdin` to an encrypted private spool; `input` reads it back decrypted. */
export async function spoolStdin(stdin: NodeJS.ReadableStream): Promise<Spool> {
  const tmp = os.tmpdir();
  await removeDeadSpools(tmp);
  const dir = await mkdtemp(path.join(tmp, `${PREFIX}${process.pid}-`));
  const remove = () => {
    process.removeListener('exit', remove);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', remove);
  const file = path.join(dir, 'rows');
  const key = randomBytes(32);
  const iv = randomBytes(16);
  try {
    await pipelineAsync(stdin, createCipheriv(CIPHER, key, iv), createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    remove();
    throw err;
  }
  const input: ImportInput = {
    name: 'stdin',
    open(options = {}) {
      // pipeline (not pipe): a read error reaches the reader of the decrypted stream.
      return pipeline(createReadStream(file, options), createDecipheriv(CIPHER, key, iv), () => undefined);
    },
    async stat() {
      const s = await stat(file);
      return { size: s.size, stamp: `${s.size}:${s.mtimeMs}` };
    },
  };
  return { input, remove };
}
