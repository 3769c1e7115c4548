/**
 * The command table (src/cli/commands/index.ts) is the one source of commands: the program, the
 * completion tree and the docs are read off it. These tests hold the readings to each other and
 * the table to what it promises.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../dist/src/cli/program.js';
import { completionTree, tableTree } from '../../dist/src/cli/completion/tree.js';
import { optionsOf, type Entry } from '../../dist/src/cli/command-table.js';
import { PROGRAM, fullTable } from '../../dist/src/cli/commands/index.js';
import { ROOT } from '../support/cli.js';

const kit = (tty: boolean) => ({
  io: { stdin: { isTTY: tty }, stdout: process.stdout, stderr: { isTTY: tty }, env: {} } as never,
  onRuntime: () => undefined,
});

function* entries(list: readonly Entry[], prefix: string[] = []): Generator<[string, Entry]> {
  for (const e of list) {
    const words = [...prefix, e.spec.name];
    yield [words.join(' '), e];
    yield* entries(e.commands ?? [], words);
  }
}

describe('the command table', () => {
  it('completes exactly what commander declares from it (tableTree never builds a program)', async () => {
    for (const tty of [false, true]) {
      expect(tableTree(PROGRAM, await fullTable())).toEqual(completionTree(await buildProgram(kit(tty))));
    }
  });

  it('every option says the environment variable its description names', async () => {
    const options = [...Object.values(PROGRAM.options), ...[...entries(await fullTable())].flatMap(([, e]) => optionsOf(e.spec).map(([, o]) => o))];
    expect(options.length).toBeGreaterThan(50);
    for (const o of options) {
      const named = /\benv (KAIJU_AUTH_[A-Z_]+)/.exec(o.description)?.[1];
      if (named !== undefined) expect(o.env, o.flags).toBe(named);
    }
  });

  it('every command runs or has subcommands, and every example names the command it is shown for', async () => {
    for (const [words, e] of entries(await fullTable())) {
      expect(e.run !== undefined || (e.commands?.length ?? 0) > 0, words).toBe(true);
      for (const example of e.spec.examples ?? []) expect(example, words).toContain('kaiju-auth');
    }
  });
});

/** Relative imports of a source file that run (static or `import()`; `import type` does not). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^import (?!type )[^;]*?from '(\.[^']+)'/gm), ...text.matchAll(/import\('(\.[^']+)'\)/g), ...text.matchAll(/^export [^;]*? from '(\.[^']+)'/gm)].map((m) => m[1] as string);
  return specs.map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sources(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []));
}

describe('src/cli imports', () => {
  it('have no cycle (completion reads the table, it does not build the program)', () => {
    const files = sources(path.join(ROOT, 'src', 'cli'));
    const graph = new Map(files.map((f) => [f, runtimeImports(f).filter((t) => files.includes(t))]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map((p) => path.relative(ROOT, p)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) visit(t, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
