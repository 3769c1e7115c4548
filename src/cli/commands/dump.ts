/**
 * `dump DIR [--with-hashes] [--force]`: the whole auth data as a fixture directory that `seed`
 * reads back (core: fixtures/dump.ts). Prints what was written (`--json`: the dump report).
 * Without hashes the files get the user's umask (as `--out` files); with them 0600 in a 0700
 * directory.
 */
import type { DumpReport } from '../../core/fixtures/dump.js';
import type { Runtime } from '../runtime.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './seed.def.js';

/** The JSON shape of `dump`: the report in snake_case. */
function dumpJson(r: DumpReport) {
  return { dir: r.dir, with_hashes: r.withHashes, replaced: r.replaced, files: r.files, counts: r.counts };
}

export async function runDump(rt: Runtime, opts: OptionsOf<typeof def.dump>, dir: string): Promise<void> {
  const auth = await rt.auth();
  const umask = rt.io.umask ?? 0o022;
  const report: DumpReport = await auth.fixtures.dump(dir, {
    withHashes: !!opts.withHashes,
    replace: !!opts.force,
    fileMode: 0o644 & ~umask,
    dirMode: 0o755 & ~umask,
  });
  await rt.out.result(dumpJson(report), () => {
    const c = report.counts;
    rt.out.line(
      `${report.replaced ? 'replaced' : 'wrote'} ${dir}: ${c.permissions} permissions, ${c.groups} groups (${c.grants} grants), ` +
        `${c.users} users (${c.memberships} memberships)${report.withHashes ? ', with password hashes (files 0600)' : ', without passwords'}`,
    );
    if (!report.withHashes && c.users > 0) {
      rt.out.notice(`kaiju-auth: users were dumped without passwords: seed keeps existing users and cannot create them (dump --with-hashes for a restore)`);
    }
  });
}
