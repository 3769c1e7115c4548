/**
 * Helpers for declaring commands: lazy actions (the handler module is imported only when the
 * command runs, so `--help` and `--version` load nothing heavy) and help examples.
 */
import type { Command } from 'commander';
import { Option } from './commander.js';
import { intArg } from './arg-parsers.js';
import { DEFAULT_PAGE_SIZE } from './paging.js';
import { DEFAULT_BCRYPT_COST } from '../core/settings.js';
import type { Io, Runtime } from './runtime.js';

/** A command handler: parsed options, then positional arguments as commander gives them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (rt: Runtime, options: any, ...args: any[]) => Promise<void>;

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

const DRY_RUNNABLE = new WeakSet<Command>();

/**
 * `--dry-run` for a command that writes through the core: the change is made in a transaction that
 * is rolled back, so it is checked as the real one would be (constraints, conflicts, triggers) and
 * reported as it would have been, and nothing changes.
 */
export function dryRunnable(command: Command): Command {
  DRY_RUNNABLE.add(command);
  return command.option('--dry-run', 'make the change in a transaction that is rolled back: show exactly what would change, change nothing');
}

export function lazyAction(kit: Kit, command: Command, load: () => Promise<Handler>): Command {
  return command.action(async (...args: unknown[]) => {
    const self = args[args.length - 1] as Command;
    const options = withInheritedOptions(self, args[args.length - 2] as Record<string, unknown>);
    const positional = args.slice(0, -2);
    // The runtime (config, output, colours) loads only when a command runs: --help and
    // --version never need it.
    const { Runtime, globalFlags } = await import('./runtime.js');
    const rt: Runtime = new Runtime(kit.io, globalFlags(self), commandPath(self));
    if (DRY_RUNNABLE.has(self) && options.dryRun === true) rt.dryRun = true;
    kit.onRuntime(rt);
    try {
      const handler = await load();
      await handler(rt, options, ...positional);
    } finally {
      await rt.close();
    }
  });
}

/** A crontab line: five schedule fields (minute hour day month weekday), then the command. */
const CRONTAB_LINE = /^(?:[\d*/,-]+\s+){5}\S/;

/**
 * Adds an "Examples:" section to a command's help: shell commands after `$ `. Crontab lines are
 * not shell commands (pasted at a prompt they would run `*` as a glob): they go in a "Crontab:"
 * section of their own, without the prompt.
 */
export function examples(command: Command, lines: string[]): Command {
  const shell = lines.filter((l) => !CRONTAB_LINE.test(l));
  const cron = lines.filter((l) => CRONTAB_LINE.test(l));
  let text = '';
  if (shell.length > 0) text += `\nExamples:\n${shell.map((l) => `  $ ${l}`).join('\n')}\n`;
  if (cron.length > 0) text += `\nCrontab:\n${cron.map((l) => `  ${l}`).join('\n')}\n`;
  return command.addHelpText('after', text);
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
export function withPaging(command: Command, noun: string): Command {
  return command
    .option('--limit <n>', `at most N ${noun} (default ${DEFAULT_PAGE_SIZE})`, intArg('limit'))
    .option('--offset <n>', 'skip the first N', intArg('offset'));
}

/** `--rounds N`: the bcrypt cost of the hashes a command makes (the runtime's default otherwise). */
export function roundsOption(description = `bcrypt cost for the new hash (env KAIJU_AUTH_BCRYPT_ROUNDS; default ${DEFAULT_BCRYPT_COST})`): Option {
  return new Option('--rounds <n>', description).argParser(intArg('bcryptCost'));
}

/** Declare the password options of docs/CLI.md (never a password flag). */
export function withSecretOptions(command: Command): Command {
  return command
    .option('--password-stdin', 'read the password from stdin (first line)')
    .option('--password-file <file>', 'read the password from the first line of a file');
}
