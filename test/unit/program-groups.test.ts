import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram, groupsNeeded } from '../../dist/src/cli/program.js';

const kit = { io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: {} }, onRuntime: () => undefined };

/** Every command path under `command`, e.g. "user create". */
function paths(command: Command, prefix = ''): string[] {
  return command.commands.flatMap((sub) => {
    const path = `${prefix}${sub.name()}`;
    return [path, ...paths(sub, `${path} `)];
  });
}

describe('which command groups a run declares', () => {
  it.each([
    [['user', 'list'], ['user']],
    [['--database-url', 'user', 'group', 'list'], ['group']],
    [['--data-dir', 'token', 'keys', 'list'], ['keys']],
    [['--json', '-q', 'session', 'prune'], ['session']],
    [['help', 'permission'], ['permission']],
    [['--database-url=postgres://x/y', 'audit', 'list'], ['audit']],
    [['status'], []],
    [['--help'], []],
    [['usr', 'list'], []],
    [['--', 'user'], []],
  ])('%j needs %j', async (args, groups) => {
    expect(groupsNeeded(args, await buildProgram(kit))).toEqual(new Set(groups));
  });

  it('completion needs every group', async () => {
    expect(groupsNeeded(['completion', 'bash'], await buildProgram(kit))).toBe('all');
  });

  it('a run declaring one group declares it exactly as the full tree does, and every other name', async () => {
    const full = await buildProgram(kit);
    const fullPaths = paths(full);
    for (const group of ['user', 'group', 'permission', 'session', 'audit', 'keys', 'token']) {
      const partial = await buildProgram(kit, [group, '--help']);
      const own = fullPaths.filter((p) => p === group || p.startsWith(`${group} `));
      const others = full.commands.map((c) => c.name());
      expect(paths(partial).filter((p) => p === group || p.startsWith(`${group} `))).toEqual(own);
      expect(partial.commands.map((c) => c.name())).toEqual(others);
      expect(own.length).toBeGreaterThan(1);
    }
  });
});
