/**
 * The vocabulary of the command table: a command is plain data (name, description, arguments,
 * options with their parsers, examples, whether `--dry-run` rolls back), and its handler a lazily
 * loaded `run` whose options and arguments are typed from that data (`OptionsOf`, `ArgsOf`,
 * `Run`). The table itself is `commands/index.ts`; commander's program (`program.ts`), shell
 * completion (`completion/tree.ts`), the example runner and docs/commands.md are all read off it.
 *
 * This module imports no commander value: the docs script and completion read the table without
 * building a program (`toCommander` gets commander's classes from its caller).
 */
import type { Argument, Command, Option } from 'commander';
import type { Runtime } from './runtime.js';

declare const VALUE: unique symbol;

/** What an option may declare beyond its flags and description. */
export interface OptionExtra {
  /** Turns the typed text into the value (a bad one: commander's usage error, exit 2). */
  readonly parse?: (raw: string, previous: never) => unknown;
  readonly default?: unknown;
  readonly choices?: readonly string[];
  /**
   * `true`: commander refuses a run without it. `'off-terminal'`: required only when nobody can be
   * asked (stdin or stderr not a terminal); on a terminal the command asks for it.
   */
  readonly required?: boolean | 'off-terminal';
  /** The environment variable that stands for it when it is not given (see config.ts). */
  readonly env?: string;
}

/** One option: data, plus (for the type checker only) the type of its value and whether it is always there. */
export interface OptionDef<V = unknown, Always extends boolean = boolean> extends OptionExtra {
  readonly flags: string;
  readonly description: string;
  readonly [VALUE]?: [V, Always];
}

/** The value commander gives for these flags: `--x` true, `--x <v>` a string, `--x <v...>` strings. */
type FlagValue<F extends string> = F extends `${string}...${string}` ? string[] : F extends `${string}<${string}>` ? string : boolean;

type ValueOf<F extends string, X> = X extends { parse: (...args: never[]) => infer R }
  ? R
  : X extends { choices: readonly (infer C)[] }
    ? C
    : FlagValue<F>;

type AlwaysThere<X> = X extends { required: true } ? true : X extends { default: unknown } ? true : false;

export function option<const F extends string, const X extends OptionExtra = object>(
  flags: F,
  description: string,
  extra?: X,
): OptionDef<ValueOf<F, X>, AlwaysThere<X>> {
  return { flags, description, ...extra };
}

/** A positional argument: `<name>` (required), `[name]` (optional), `...` for the rest. */
export interface ArgDef<V = unknown> {
  readonly name: string;
  readonly description?: string;
  readonly choices?: readonly string[];
  readonly [VALUE]?: V;
}

type ArgText<N extends string, C = string> = N extends `${string}...${string}` ? C[] : N extends `<${string}` ? C : C | undefined;

export function arg<const N extends string, const C extends readonly string[] = readonly string[]>(
  name: N,
  description?: string,
  extra?: { choices: C },
): ArgDef<ArgText<N, C[number]>> {
  return { name, ...(description !== undefined ? { description } : {}), ...extra };
}

/** A command as data. */
export interface CommandSpec {
  readonly name: string;
  readonly description: string;
  /** `'<group>'`, `'[ids...]'`, or `arg(...)` for one with a description or choices. */
  readonly args?: readonly (string | ArgDef)[];
  readonly options?: Readonly<Record<string, OptionDef>>;
  /** Shell commands, shown after `$ ` in help and run by test/cli/examples.test.ts; crontab lines shown as such. */
  readonly examples?: readonly string[];
  /** A `--dry-run` that makes the change in a transaction that is rolled back (`Runtime.dryRun`). */
  readonly dryRun?: boolean;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ValueIn<D> = D extends OptionDef<infer V, boolean> ? V : never;
type IsAlways<D> = D extends OptionDef<unknown, infer A> ? A : false;

type OptionValues<O> = Simplify<
  { -readonly [K in keyof O as IsAlways<O[K]> extends true ? K : never]: ValueIn<O[K]> } & {
    -readonly [K in keyof O as IsAlways<O[K]> extends true ? never : K]?: ValueIn<O[K]>;
  }
>;

/** The options a command's `run` gets, as commander parses them (camelCase keys). */
export type OptionsOf<S extends CommandSpec> = Simplify<
  (S['options'] extends Readonly<Record<string, OptionDef>> ? OptionValues<S['options']> : object) &
    (S['dryRun'] extends true ? { dryRun?: boolean } : object)
>;

type ArgValue<A> = A extends ArgDef<infer V> ? V : A extends string ? ArgText<A> : never;

/** The positional arguments a command's `run` gets. */
export type ArgsOf<S extends CommandSpec> = ArgValues<S['args']>;

type ArgValues<T> = T extends readonly unknown[] ? { -readonly [I in keyof T]: ArgValue<T[I]> } : [];

/** A command's handler: the runtime, its options, its arguments. */
export type Run<S extends CommandSpec> = (rt: Runtime, opts: OptionsOf<S>, ...args: ArgsOf<S>) => Promise<unknown>;

/** Declares a command (the data is returned as written, typed to the letter). */
export function command<const S extends CommandSpec>(spec: S): S {
  return spec;
}

type AnyRun = (rt: Runtime, opts: Record<string, unknown>, ...args: unknown[]) => Promise<unknown>;

/** A row of the table: a command, how to load its handler (if it runs), and its subcommands. */
export interface Entry {
  readonly spec: CommandSpec;
  readonly run?: () => Promise<AnyRun>;
  readonly commands?: readonly Entry[];
}

/** A command that runs: `run` loads its handler when (and only when) the command runs. */
export function runs<S extends CommandSpec>(spec: S, run: () => Promise<Run<S>>, commands?: readonly Entry[]): Entry {
  return { spec, run: run as unknown as () => Promise<AnyRun>, ...(commands ? { commands } : {}) };
}

type HandlersFor<C> = { [K in keyof C & string as `run${Capitalize<K>}`]: C[K] extends CommandSpec ? Run<C[K]> : never };

/**
 * The commands of `specs`, in order, each run by the handler its key names in the module `load`
 * imports: `{ create }` by `runCreate` (the type checker holds each handler to its command).
 * `subcommands` go under the command of the same key.
 */
export function runsFrom<C extends Record<string, CommandSpec>>(
  load: () => Promise<HandlersFor<C>>,
  specs: C,
  subcommands: { readonly [K in keyof C]?: readonly Entry[] } = {},
): Entry[] {
  return Object.entries(specs).map(([key, spec]) => {
    const handler = `run${key.charAt(0).toUpperCase()}${key.slice(1)}` as keyof HandlersFor<C>;
    const commands = subcommands[key];
    return { spec, run: async () => (await load())[handler] as unknown as AnyRun, ...(commands ? { commands } : {}) };
  });
}

/** A command group loaded only when a run names it: its examples and subcommands. */
export interface GroupBody {
  readonly examples?: readonly string[];
  readonly commands: readonly Entry[];
}

/**
 * A top-level row: either a full entry, or a group whose body is loaded only when a run names it
 * (the top-level help and commander's "did you mean" need only the name and description).
 */
export type TopEntry = Entry | { readonly name: string; readonly description: string; readonly load: () => Promise<GroupBody> };

export function isLazyGroup(e: TopEntry): e is Extract<TopEntry, { load: unknown }> {
  return 'load' in e;
}

/** The rolled-back `--dry-run` of every command whose spec says `dryRun: true`. */
export const DRY_RUN_OPTION = option('--dry-run', 'make the change in a transaction that is rolled back: show exactly what would change, change nothing');

/** An option's declared options in help order: its own, then the rolled-back `--dry-run`. */
export function optionsOf(spec: CommandSpec): [key: string, def: OptionDef][] {
  return [...Object.entries(spec.options ?? {}), ...(spec.dryRun ? [['dryRun', DRY_RUN_OPTION] as [string, OptionDef]] : [])];
}

export function argDef(a: string | ArgDef): ArgDef {
  return typeof a === 'string' ? { name: a } : a;
}

/** A crontab line: five schedule fields (minute hour day month weekday), then the command. */
const CRONTAB_LINE = /^(?:[\d*/,-]+\s+){5}\S/;

/** Examples split into shell commands and crontab lines (not shell commands: `*` would glob). */
export function splitExamples(lines: readonly string[]): { shell: string[]; cron: string[] } {
  return { shell: lines.filter((l) => !CRONTAB_LINE.test(l)), cron: lines.filter((l) => CRONTAB_LINE.test(l)) };
}

/**
 * The "Examples:" section of a command's help (shell commands after `$ `), and a "Crontab:"
 * section of crontab lines, without the prompt.
 */
export function examplesHelp(lines: readonly string[]): string {
  const { shell, cron } = splitExamples(lines);
  let text = '';
  if (shell.length > 0) text += `\nExamples:\n${shell.map((l) => `  $ ${l}`).join('\n')}\n`;
  if (cron.length > 0) text += `\nCrontab:\n${cron.map((l) => `  ${l}`).join('\n')}\n`;
  return text;
}

/** commander's classes, handed in by whoever builds a program (program.ts). */
export interface CommanderClasses {
  Argument: typeof Argument;
  Option: typeof Option;
}

/** What the builder needs of the run: whether someone can answer a prompt, how to start a handler. */
export interface BuildContext {
  commander: CommanderClasses;
  interactive: boolean;
  action: (command: Command, run: () => Promise<AnyRun>, dryRunnable: boolean) => void;
  /** Attribute names of the program's own options (`actor`): a command option of that name gets the value wherever it is typed. */
  globals: ReadonlySet<string>;
}

/** Declares `spec` (and its subcommands) on `parent`'s new subcommand. */
export function declare(parent: Command, entry: Entry, ctx: BuildContext): Command {
  const { spec } = entry;
  const cmd = parent.command(spec.name).description(spec.description);
  fill(cmd, entry, ctx);
  return cmd;
}

/** Fills `cmd` (already named and described) with `entry`'s arguments, options, examples, action and subcommands. */
export function fill(cmd: Command, entry: Entry, ctx: BuildContext): void {
  const { spec } = entry;
  const { Argument, Option } = ctx.commander;
  for (const a of (spec.args ?? []).map(argDef)) {
    const argument = new Argument(a.name, a.description);
    if (a.choices) argument.choices(a.choices);
    cmd.addArgument(argument);
  }
  const shadowed: string[] = [];
  for (const [key, def] of optionsOf(spec)) {
    const o = new Option(def.flags, def.description);
    if (o.attributeName() !== key) throw new TypeError(`${spec.name}: option ${def.flags} is keyed ${key}, commander calls it ${o.attributeName()}`);
    if (def.choices) o.choices(def.choices);
    if (def.parse) o.argParser(def.parse as (value: string, previous: unknown) => unknown);
    if (def.default !== undefined) o.default(def.default);
    if (def.required === true || (def.required === 'off-terminal' && !ctx.interactive)) o.makeOptionMandatory();
    cmd.addOption(o);
    if (ctx.globals.has(key)) shadowed.push(key);
  }
  // The program's option of the same name (`--actor`) takes the flag wherever it is typed; on
  // this command the flag means this command's option.
  if (shadowed.length > 0) {
    cmd.hook('preAction', (self) => {
      const all = self.optsWithGlobals() as Record<string, unknown>;
      for (const key of shadowed) if (all[key] !== undefined) self.setOptionValue(key, all[key]);
    });
  }
  if (entry.run) ctx.action(cmd, entry.run, spec.dryRun === true);
  for (const sub of entry.commands ?? []) declare(cmd, sub, ctx);
  if (spec.examples?.length) cmd.addHelpText('after', examplesHelp(spec.examples));
}
