/**
 * commander's program, built from the command table (commands/index.ts): global options, then the
 * commands a run needs. Every handler is imported lazily when its command runs.
 */
import type * as CommanderModule from 'commander';
import { Argument, Command, Option } from './commander.js';
import { lazyAction, type Kit } from './command-kit.js';
import { declare, examplesHelp, fill, isLazyGroup, type BuildContext } from './command-table.js';
import { PROGRAM, TABLE, groupEntry } from './commands/index.js';
import { VERSION } from './version.js';

/**
 * Which groups a run with these arguments (after `node script`) needs declared in full: the one
 * it names (`user list`, `help user`), every one for `completion`, none otherwise. `program`
 * holds the global options (those taking a value are skipped with it).
 */
export function groupsNeeded(args: readonly string[], program: CommanderModule.Command): Set<string> | 'all' {
  const [first, second] = commandWords(args, program, 2).map((w) => w.word);
  if (first === 'completion') return 'all';
  const named = first === 'help' ? second : first;
  return new Set(TABLE.some((e) => isLazyGroup(e) && e.name === named) ? [named as string] : []);
}

/**
 * The first `count` words of `args` that name commands, with their positions: global options are
 * skipped, with their values (`--data-dir DIR user list`), up to a `--`.
 */
function commandWords(args: readonly string[], program: CommanderModule.Command, count: number): { word: string; index: number }[] {
  const valueOptions = new Set(program.options.filter((o) => o.required || o.optional).map((o) => o.long));
  const words: { word: string; index: number }[] = [];
  for (let i = 0; i < args.length && words.length < count; i += 1) {
    const arg = args[i] as string;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (valueOptions.has(arg)) i += 1;
      continue;
    }
    words.push({ word: arg, index: i });
  }
  return words;
}

/**
 * The program for a run with `args` (after `node script`; default: every command declared, as
 * tests want it). A run declares in full only the group it runs (or asks help for); the others
 * are a name and a description.
 */
export async function buildProgram(kit: Kit, args?: readonly string[]): Promise<CommanderModule.Command> {
  const program = new Command(PROGRAM.name);
  program
    .description(PROGRAM.description)
    .version(VERSION, PROGRAM.version.flags, PROGRAM.version.description)
    .helpOption(PROGRAM.help.flags, PROGRAM.help.description);
  for (const def of Object.values(PROGRAM.options)) program.addOption(new Option(def.flags, def.description));
  program
    .exitOverride()
    .configureOutput({
      writeOut: (s) => kit.io.stdout.write(s),
      writeErr: (s) => kit.io.stderr.write(s),
      // Errors are reported by main, as text or JSON; commander's own line would duplicate it.
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .addHelpText('after', `${examplesHelp(PROGRAM.examples)}\n${PROGRAM.epilogue}\n`);

  const ctx: BuildContext = {
    commander: { Argument, Option },
    interactive: !!kit.io.stdin.isTTY && !!kit.io.stderr.isTTY,
    action: (command, run, dryRunnable) => lazyAction(kit, command, run, dryRunnable),
    globals: new Set(Object.keys(PROGRAM.options)),
  };
  const needed = args === undefined ? 'all' : groupsNeeded(args, program);
  const declared = TABLE.map((e) => (isLazyGroup(e) ? { e, command: program.command(e.name).description(e.description) } : { e, command: declare(program, e, ctx) }));
  const loads = declared.map(async ({ e, command }) => {
    if (isLazyGroup(e) && (needed === 'all' || needed.has(e.name))) return { e, command, body: await e.load() };
    return null;
  });
  for (const loaded of await Promise.all(loads)) {
    if (loaded && isLazyGroup(loaded.e)) fill(loaded.command, groupEntry(loaded.e.name, loaded.e.description, loaded.body), ctx);
  }
  // Hidden, not a command of the table: the completion scripts' way to ask for names in the
  // database (commands/complete-names.ts), with no runtime, notices or audit.
  program
    .command('__complete <kind> [prefix]', { hidden: true })
    .action(async (kind: string, prefix: string | undefined, _options: unknown, self: CommanderModule.Command) =>
      (await import('./commands/complete-names.js')).printNames(kit.io, self.optsWithGlobals(), kind, prefix ?? ''),
    );
  tagUsageErrors(program);
  return program;
}

/**
 * A usage error carries the path of the command it is about (`user register`), so its hint can
 * name that command's help rather than the whole program's.
 */
function tagUsageErrors(command: CommanderModule.Command, path: string[] = []): void {
  command.exitOverride((err) => {
    Object.defineProperty(err, 'commandPath', { value: path.join(' '), enumerable: false });
    throw err;
  });
  for (const sub of command.commands) tagUsageErrors(sub, [...path, sub.name()]);
}

/**
 * `kaiju-auth help user register` as `kaiju-auth user register --help`: commander's help command
 * looks one level down only, and would show `user`'s help. Global options before `help` stay.
 */
export function helpArgs(args: readonly string[], program: CommanderModule.Command): string[] {
  const [help, command, sub] = commandWords(args, program, 3);
  if (help?.word !== 'help' || !command || !sub || !program.commands.some((c) => c.name() === command.word)) return [...args];
  return [...args.slice(0, help.index), ...args.slice(help.index + 1), '--help'];
}
