/**
 * Helpers for declaring commands: lazy actions (the handler module is imported only when the
 * command runs, so `--help` and `--version` load nothing heavy) and help examples.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { Runtime, globalFlags, type Io } from './runtime.js';

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

export function lazyAction(kit: Kit, command: Command, load: () => Promise<Handler>): Command {
  return command.action(async (...args: unknown[]) => {
    const self = args[args.length - 1] as Command;
    const options = args[args.length - 2];
    const positional = args.slice(0, -2);
    const rt = new Runtime(kit.io, globalFlags(self), commandPath(self));
    kit.onRuntime(rt);
    try {
      const handler = await load();
      await handler(rt, options, ...positional);
    } finally {
      await rt.close();
    }
  });
}

/** Adds an "Examples:" section to a command's help. */
export function examples(command: Command, lines: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

/** A commander argument parser for an integer in [min, max] (bad values are usage errors, exit 2). */
export function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** A commander parser that collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A repeatable option whose values may also be comma-separated (`--set a,b --set c`). */
export function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

/** Declare the password options of docs/CLI.md (never a password flag). */
export function withSecretOptions(command: Command): Command {
  return command
    .option('--password-stdin', 'read the password from stdin (first line)')
    .option('--password-file <file>', 'read the password from the first line of a file');
}
