/** `keys rotate`, `keys list`, `keys jwks`, `keys import`, `keys prune`. */
import type { KeyInfo, RotateResult } from '../../core/keys/keystore.js';
import { humanDuration } from '../../core/tokens/claims.js';
import type { Output } from '../output.js';
import { openOutputFile } from '../output-file.js';
import { readNamedFile } from '../read-file.js';
import type { Runtime } from '../runtime.js';

/** The key JSON shape of docs/CLI.md (plus `source`). */
export function keyJson(k: KeyInfo) {
  return {
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    created: k.created,
    signs_until: k.signs_until,
    verifies_until: k.verifies_until,
    source: k.source,
  };
}

/** A duration option (ms, parsed and range-checked by commander) in seconds. */
function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function colourState(out: Output, state: KeyInfo['state']): string {
  return state === 'active' ? out.c.green(state) : state === 'retired' ? out.c.yellow(state) : out.c.dim(state);
}

function printInstalled(rt: Runtime, result: RotateResult, verb: string): void {
  const k = result.key;
  rt.out.line(`${verb} signing key ${k.kid} (${k.alg}), signs until ${k.signs_until.toISOString()}`);
  if (result.retired) rt.out.line(`retired ${result.retired}: it keeps verifying its tokens until they expire`);
}

export async function runKeysRotate(rt: Runtime, opts: { ifOlderThan?: number; alg?: 'ES256' | 'RS256' | 'EdDSA'; lifetime?: number }) {
  const ifOlderThan = seconds(opts.ifOlderThan);
  const lifetime = seconds(opts.lifetime);
  const auth = await rt.auth();
  const result = await auth.keys.rotate({
    ...(ifOlderThan !== undefined ? { ifOlderThan } : {}),
    ...(lifetime !== undefined ? { lifetime } : {}),
    ...(opts.alg ? { alg: opts.alg } : {}),
  });
  await rt.out.result({ rotated: result.rotated, key: keyJson(result.key), retired: result.retired }, () => {
    if (!result.rotated) {
      const age = (Date.now() - result.key.created.getTime()) / 1000;
      rt.out.notice(`kaiju-auth: signing key ${result.key.kid} is ${humanDuration(age)} old, younger than ${humanDuration(ifOlderThan ?? 0)}: nothing to do`);
      return;
    }
    printInstalled(rt, result, 'new');
  });
}

export async function runKeysList(rt: Runtime) {
  const auth = await rt.auth();
  const keys = await auth.keys.list();
  await rt.out.result(keys.map(keyJson), async () => {
    if (keys.length === 0) {
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
        k.signs_until,
        k.verifies_until,
        k.source,
      ]),
    );
  });
}

export async function runKeysJwks(rt: Runtime, opts: { out?: string }) {
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
  await file.write(`${JSON.stringify(jwks, null, 2)}\n`);
  await file.commit();
  const kids = jwks.keys.map((k) => k.kid);
  await rt.out.result({ out: opts.out, kids }, () => rt.out.line(`wrote ${kids.length} public key(s) to ${opts.out}`));
}

export async function runKeysImport(rt: Runtime, opts: { kid?: string; lifetime?: number }, file: string) {
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

export async function runKeysPrune(rt: Runtime, opts: { kid?: string[]; dryRun?: boolean }) {
  const auth = await rt.auth();
  const kids = opts.kid ?? [];
  if (kids.length > 0 && !opts.dryRun) {
    // Checked (not found, signing key) before asking, so the question is never a dead end.
    await auth.keys.prune({ kids, dryRun: true });
    await rt.confirm(`Drop key(s) ${kids.join(', ')} now? Tokens they signed stop verifying`);
  }
  const result = await auth.keys.prune({ ...(kids.length > 0 ? { kids } : {}), dryRun: !!opts.dryRun });
  await rt.out.result({ pruned: result.pruned.map(keyJson), dryRun: result.dryRun }, () => {
    if (result.pruned.length === 0) {
      rt.out.notice('kaiju-auth: no key to prune');
      return;
    }
    const verb = result.dryRun ? 'would drop' : 'dropped';
    rt.out.line(`${verb} ${result.pruned.length} key(s): ${result.pruned.map((k) => k.kid).join(', ')}`);
  });
}
