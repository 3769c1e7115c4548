/** `keys rotate`, `keys list`, `keys jwks`, `keys import`, `keys prune`. */
import type { KeyInfo, RotateResult } from '../../core/keys/keystore.js';
import { cliError } from '../cli-errors.js';
import { humanDuration } from '../../core/tokens/claims.js';
import type { Output } from '../output.js';
import { openOutputFile } from '../output-file.js';
import { readNamedFile } from '../read-file.js';
import { slicePage } from '../paging.js';
import type { Runtime } from '../runtime.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './keys.def.js';

/** The key JSON shape of docs/CLI.md (plus `source`). */
export function keyJson(k: KeyInfo) {
  return {
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    created: k.created,
    activated: k.activated,
    signs_until: k.signsUntil,
    verifies_until: k.verifiesUntil,
    source: k.source,
  };
}

/** A duration option (ms, parsed and range-checked by commander) in seconds. */
function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function colourState(out: Output, state: KeyInfo['state']): string {
  switch (state) {
    case 'active':
      return out.c.green(state);
    case 'next':
      return out.c.cyan(state);
    case 'retired':
      return out.c.yellow(state);
    case 'revoked':
      return out.c.red(state);
    default:
      return out.c.dim(state);
  }
}

function printInstalled(rt: Runtime, result: RotateResult, verb: string): void {
  const k = result.key;
  rt.out.line(`${verb} signing key ${k.kid} (${k.alg}), signs until ${k.signsUntil.toISOString()}`);
  if (result.retired) rt.out.line(`retired ${result.retired}: it keeps verifying its tokens until they expire`);
}

function rotateJson(result: RotateResult) {
  return {
    rotated: result.rotated,
    action: result.action,
    key: keyJson(result.key),
    retired: result.retired,
    next: result.next && { ...keyJson(result.next), switches_at: result.next.switchesAt },
  };
}

export async function runKeysRotate(
  rt: Runtime,
  opts: OptionsOf<typeof def.rotate>,
) {
  if (opts.now && opts.ifOlderThan !== undefined) throw cliError('cli.usage', '--now switches at once: drop --if-older-than');
  const ifOlderThan = seconds(opts.ifOlderThan);
  const lifetime = seconds(opts.lifetime);
  const jwksMaxAge = seconds(opts.jwksMaxAge);
  const auth = await rt.auth(jwksMaxAge === undefined ? {} : { tokens: { jwksMaxAge } });
  const result = await auth.keys.rotate({
    ...(ifOlderThan !== undefined ? { ifOlderThan } : {}),
    ...(lifetime !== undefined ? { lifetime } : {}),
    ...(opts.alg ? { alg: opts.alg } : {}),
    ...(opts.now ? { now: true } : {}),
  });
  await rt.out.result(rotateJson(result), () => {
    const now = Date.now();
    switch (result.action) {
      case 'created':
      case 'promoted':
        printInstalled(rt, result, result.action === 'created' ? 'new' : 'switched to');
        return;
      case 'published': {
        const n = result.next;
        if (n) {
          rt.out.line(
            `published ${n.kid} (${n.alg}) as the next key: it signs from the first rotate after ${n.switchesAt.toISOString()} ` +
              `(in ${humanDuration((n.switchesAt.getTime() - now) / 1000)}), once verifiers' cached JWKS hold it`,
          );
        }
        return;
      }
      default: {
        const k = result.key;
        const n = result.next;
        if (n) {
          const wait = (n.switchesAt.getTime() - now) / 1000;
          rt.out.notice(`kaiju-auth: next key ${n.kid} is published; it signs after ${n.switchesAt.toISOString()} (in ${humanDuration(Math.max(0, wait))}): nothing to do yet`);
          return;
        }
        const age = (now - (k.activated ?? k.created).getTime()) / 1000;
        const limit = ifOlderThan === undefined ? 'half its signing life' : humanDuration(ifOlderThan);
        rt.out.notice(`kaiju-auth: signing key ${k.kid} has signed for ${humanDuration(age)}, less than ${limit}: nothing to do`);
      }
    }
  });
}

export async function runKeysRevoke(rt: Runtime, opts: OptionsOf<typeof def.revoke>, kid: string) {
  const auth = await rt.auth();
  // Checked (not found, already revoked) before asking, so the question is never a dead end.
  const preview = await auth.keys.revoke(kid, { dryRun: true });
  const signing = preview.revoked.state === 'active';
  if (!opts.dryRun) {
    await rt.confirm(
      `Revoke key ${kid} now? It leaves the JWKS and its tokens stop verifying${signing ? '; the next key (or a new one) signs from now' : ''}`,
    );
  }
  const result = opts.dryRun ? preview : await auth.keys.revoke(kid);
  await rt.out.result(
    { revoked: keyJson(result.revoked), replacement: result.replacement && keyJson(result.replacement), dry_run: result.dryRun },
    () => {
      const verb = result.dryRun ? 'would revoke' : 'revoked';
      rt.out.line(`${verb} ${kid}: tokens it signed no longer verify; republish the JWKS (kaiju-auth keys jwks --out FILE)`);
      if (result.replacement) rt.out.line(`${result.replacement.kid} (${result.replacement.alg}) signs from now`);
      else if (result.dryRun && signing) rt.out.line('the next key, or a new one, would sign from now');
    },
  );
}

/**
 * `keys rekey`: the new secret from --new-secret-file or KAIJU_AUTH_NEW_SECRET; on the embedded
 * database with its own secret file, a fresh one when neither is given, and the file replaced
 * (the new secret is written to secret.new before the transaction, renamed over secret after it).
 */
export async function runKeysRekey(rt: Runtime, opts: OptionsOf<typeof def.rekey>) {
  const { newKeySecretSource, usesDataDirSecret, writeSecretFile, randomSecret, NEW_SECRET_FILE_NAME, SECRET_FILE_NAME } = await import(
    '../key-secret.js'
  );
  const { rename } = await import('node:fs/promises');
  const path = await import('node:path');
  const dataDir = usesDataDirSecret(rt);
  let source = newKeySecretSource(rt, opts.newSecretFile ?? null);
  const fromEnv = opts.newSecretFile === undefined && (rt.io.env.KAIJU_AUTH_NEW_SECRET ?? '') !== '';
  if (opts.newSecretFile === undefined && !fromEnv) {
    if (dataDir === null) {
      throw cliError('cli.secret_missing', 'keys rekey needs the new secret: --new-secret-file FILE or KAIJU_AUTH_NEW_SECRET (at least 16 bytes)');
    }
    source = randomSecret();
  }
  const auth = await rt.auth();
  let staged: string | null = null;
  if (dataDir !== null) {
    const { readFile } = await import('node:fs/promises');
    const { resolveSecret } = await import('../../core/keys/key-crypto.js');
    const pending = path.join(dataDir, NEW_SECRET_FILE_NAME);
    const left = await readFile(pending, 'utf8').then(
      (text) => text.replace(/\r?\n$/, ''),
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      },
    );
    if (left !== null) {
      // An earlier re-key was cut off: finish it with its secret, never a new one (that would lose it).
      if (opts.newSecretFile !== undefined || fromEnv) {
        throw cliError('cli.usage', `an earlier keys rekey was cut off (${pending} is there): run \`kaiju-auth keys rekey\` without a new secret to finish it first`);
      }
      source = left;
      staged = pending;
    } else {
      // Written before the transaction: a crash after the commit leaves it, and it opens the keys.
      const bytes = await resolveSecret(source);
      staged = await writeSecretFile(dataDir, NEW_SECRET_FILE_NAME, Buffer.from(bytes).toString('utf8'));
      source = bytes;
    }
  }
  const result = await auth.keys.rekey(source);
  if (staged !== null && dataDir !== null) await rename(staged, path.join(dataDir, SECRET_FILE_NAME));
  await rt.out.result({ rekeyed: result.rekeyed, keys: result.keys, ...(dataDir ? { secret_file: path.join(dataDir, SECRET_FILE_NAME) } : {}) }, () => {
    if (!result.rekeyed) {
      rt.out.notice(`kaiju-auth: the keystore (${result.keys} key(s)) is already sealed under the new secret: nothing to do`);
      return;
    }
    rt.out.line(`re-encrypted ${result.keys} private key(s) under the new secret`);
    if (dataDir !== null) rt.out.line(`the new secret is in ${path.join(dataDir, SECRET_FILE_NAME)}: back it up`);
    else rt.out.line('now make it KAIJU_AUTH_SECRET (or --secret-file) everywhere, then drop KAIJU_AUTH_NEW_SECRET');
  });
}

export async function runKeysList(rt: Runtime, opts: OptionsOf<typeof def.list>) {
  const auth = await rt.auth();
  const all = await auth.keys.list();
  const keys = slicePage(rt.out, all, opts, 'keys');
  await rt.out.result(keys.map(keyJson), async () => {
    if (all.length === 0) {
      rt.out.line('no keys: run `kaiju-auth keys rotate` (or `kaiju-auth init`)');
      return;
    }
    const now = Date.now();
    await rt.out.table(
      ['kid', 'alg', 'state', 'age', 'signs until', 'verifies until', 'source'],
      keys.map((k) => [
        k.kid,
        k.alg,
        colourState(rt.out, k.state),
        humanDuration((now - k.created.getTime()) / 1000),
        k.signsUntil,
        k.verifiesUntil,
        k.source,
      ]),
      // The kid is whole or the row a record: it is what `keys revoke` takes.
      { fit: [undefined, undefined, undefined, { optional: true }, undefined, { optional: true }, { optional: true }] },
    );
  });
}

export async function runKeysJwks(rt: Runtime, opts: OptionsOf<typeof def.jwks>) {
  if (opts.ifChanged && opts.out === undefined) throw cliError('cli.usage', '--if-changed compares with the file --out names: give --out FILE');
  // Served to verifiers: world-readable (under the user's umask), replaced whole or not at all;
  // opened first, so a path that cannot be written fails before the database is opened.
  const file = opts.out === undefined ? null : await openOutputFile(rt, opts.out, { mode: 0o644 });
  const auth = await rt.auth();
  const jwks = await auth.keys.jwks();
  if (jwks.keys.length === 0) rt.out.warn('no key can verify tokens: the JWKS is empty (run `kaiju-auth keys rotate`)');
  if (file === null) {
    rt.out.writeJson(jwks);
    return;
  }
  const text = `${JSON.stringify(jwks, null, 2)}\n`;
  const kids = jwks.keys.map((k) => k.kid);
  if (opts.ifChanged) {
    const { readFile } = await import('node:fs/promises');
    const current = await readFile(opts.out as string, 'utf8').catch(() => null);
    if (current === text) {
      await file.discard();
      await rt.out.result({ out: opts.out, kids, changed: false }, () => rt.out.notice(`kaiju-auth: ${opts.out} is up to date (${kids.length} key(s)): not rewritten`));
      return;
    }
  }
  await file.write(text);
  await file.commit();
  await rt.out.result({ out: opts.out, kids, changed: true }, () => rt.out.line(`wrote ${kids.length} public key(s) to ${opts.out}`));
}

export async function runKeysImport(rt: Runtime, opts: OptionsOf<typeof def.importKey>, file: string) {
  const lifetime = seconds(opts.lifetime);
  const pem = await readNamedFile(file, file, 'cli.usage', { file });
  const auth = await rt.auth();
  const result = await auth.keys.importPem(pem, {
    ...(opts.kid !== undefined ? { kid: opts.kid } : {}),
    ...(lifetime !== undefined ? { lifetime } : {}),
  });
  await rt.out.result({ imported: true, key: keyJson(result.key), retired: result.retired }, () =>
    printInstalled(rt, result, 'imported'),
  );
}

export async function runKeysPrune(rt: Runtime, opts: OptionsOf<typeof def.prune>) {
  const auth = await rt.auth();
  const kids = opts.kid ?? [];
  if (kids.length > 0 && !opts.dryRun) {
    // Checked (not found, signing key) before asking, so the question is never a dead end.
    await auth.keys.prune({ kids, dryRun: true });
    await rt.confirm(`Drop key(s) ${kids.join(', ')} now? Tokens they signed stop verifying`);
  }
  const result = await auth.keys.prune({ ...(kids.length > 0 ? { kids } : {}), dryRun: !!opts.dryRun });
  await rt.out.result({ pruned: result.pruned.map(keyJson), dry_run: result.dryRun }, () => {
    if (result.pruned.length === 0) {
      rt.out.notice('kaiju-auth: no key to prune');
      return;
    }
    const verb = result.dryRun ? 'would drop' : 'dropped';
    rt.out.line(`${verb} ${result.pruned.length} key(s): ${result.pruned.map((k) => k.kid).join(', ')}`);
  });
}
