/**
 * Output through a pipe arrives whole, however much there is and however slowly the reader takes
 * it: Node writes to a pipe asynchronously, and exiting before the rest is handed over used to cut
 * a big `--json` document at 64 KiB.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';
import { KAIJU_HASH } from '../support/kaiju-ddl.js';

const USERS = 1500;

describe.each(BACKENDS)('output through a pipe on %s', (backend) => {
  let t: CliTarget;
  const cli = (args: string[], opts: Parameters<typeof runCli>[1] = {}) => runCli([...t.args, '-q', ...args], opts);

  beforeAll(async () => {
    t = await cliTarget(backend);
    const rows = Array.from({ length: USERS }, (_, i) =>
      JSON.stringify({ username: `piped_${String(i).padStart(5, '0')}`, email: `piped${i}@example.com`, password_hash: KAIJU_HASH }),
    );
    const file = path.join(t.tmp, 'many.jsonl');
    await writeFile(file, `${rows.join('\n')}\n`);
    const imported = await cli(['user', 'import', file, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    await removeTempDirs();
  });

  it.each([0, 1500])('a --json document of hundreds of KiB arrives whole (reader starts after %i ms)', async (stdoutDelayMs) => {
    const r = await cli(['user', 'list', '--json', '--limit', String(USERS)], { stdoutDelayMs });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(256 * 1024);
    const users = r.json<{ username: string }[]>();
    expect(users).toHaveLength(USERS);
    expect(users.at(-1)?.username).toBe(`piped_${String(USERS - 1).padStart(5, '0')}`);
  });

  it('a streamed export arrives whole to a slow reader', async () => {
    const r = await cli(['user', 'export'], { stdoutDelayMs: 1500 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(USERS);
    expect(() => lines.map((l) => JSON.parse(l) as unknown)).not.toThrow();
  });
});
