/**
 * What the command table's declarations share (option sets, list parsers), and how a declared
 * command runs: its handler is imported only when it runs, so `--help` and `--version` load
 * nothing heavy.
 */
import type { Command } from 'commander';
import { option } from './command-table.js';
import { intArg } from './arg-parsers.js';
import { DEFAULT_PAGE_SIZE } from './paging.js';
import { DEFAULT_BCRYPT_COST } from '../core/settings.js';
import type { Io, Runtime } from './runtime.js';

export interface Kit {
  io: Io;
  /** Called with each runtime as it starts, so main can close it on Ctrl-C. */
  onRuntime: (rt: Runtime) => void;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Options of `command` that an ancestor declares too (`migrate down --dry-run`, where `migrate` has
 * `--dry-run`): commander lets ancestors' options appear after the subcommand, so the ancestor
 * gets the value. Hand it down: the user typed it for the command they ran.
 */
function withInheritedOptions(command: Command, options: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...options };
  for (const option of command.options) {
    const key = option.attributeName();
    if (merged[key] !== undefined) continue;
    for (let parent = command.parent; parent; parent = parent.parent) {
      const value = parent.getOptionValue(key);
      if (value !== undefined && parent.options.some((o) => o.attributeName() === key)) {
        merged[key] = value;
        break;
      }
    }
  }
  return merged;
}

type LoadedRun = (rt: Runtime, opts: Record<string, unknown>, ...args: unknown[]) => Promise<unknown>;

/**
 * The action of a declared command: a runtime for this run, then the handler `run` loads. A
 * `dryRunnable` command's `--dry-run` (see `dryRun` in command-table.ts) makes the change in a
 * transaction that is rolled back, so it is checked as the real one would be (constraints,
 * conflicts, triggers) and reported as it would have been, and nothing changes.
 */
export function lazyAction(kit: Kit, command: Command, run: () => Promise<LoadedRun>, dryRunnable: boolean): void {
  command.action(async (...args: unknown[]) => {
    const self = args[args.length - 1] as Command;
    const options = withInheritedOptions(self, args[args.length - 2] as Record<string, unknown>);
    const positional = args.slice(0, -2);
    // The runtime (config, output, colours) loads only when a command runs: --help and
    // --version never need it.
    const { Runtime, globalFlags } = await import('./runtime.js');
    const rt: Runtime = new Runtime(kit.io, globalFlags(self), commandPath(self));
    if (dryRunnable && options.dryRun === true) rt.dryRun = true;
    kit.onRuntime(rt);
    try {
      const handler = await run();
      await handler(rt, options, ...positional);
    } finally {
      await rt.close();
    }
  });
}

/** A commander parser that collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A repeatable option whose values may also be comma-separated (`--set a,b --set c`). */
export function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

/** `--limit N` and `--offset N` of a paged listing of `noun`s; see `shownPage` in paging.ts. */
export function pagingOptions(noun: string) {
  return {
    limit: option('--limit <n>', `at most N ${noun} (default ${DEFAULT_PAGE_SIZE})`, { parse: intArg('limit') }),
    offset: option('--offset <n>', 'skip the first N', { parse: intArg('offset') }),
  };
}

/** `--rounds N`: the bcrypt cost of the hashes a command makes (the runtime's default otherwise). */
export function roundsOption(description = `bcrypt cost for the new hash (env KAIJU_AUTH_BCRYPT_ROUNDS; default ${DEFAULT_BCRYPT_COST})`) {
  return option('--rounds <n>', description, { parse: intArg('bcryptCost'), env: 'KAIJU_AUTH_BCRYPT_ROUNDS' });
}

/** The password options of docs/CLI.md (never a password flag). */
export const PASSWORD_OPTIONS = {
  passwordStdin: option('--password-stdin', 'read the password from stdin (first line)'),
  passwordFile: option('--password-file <file>', 'read the password from the first line of a file'),
};
