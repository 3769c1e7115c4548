/**
 * The command tree as shell completion needs it, read from the command table (commands/index.ts,
 * the data commander's program is built from), so completion stays right as commands are added:
 * subcommands, flags (global ones at every level), which flags take a value and what kind of
 * value, positional arguments with their choices. `tableTree` reads the table without building a
 * program; `completionTree` reads a commander program (tests hold the two to the same tree).
 */
import type { Argument, Command, Option } from 'commander';
import { argDef, optionsOf, type Entry, type OptionDef } from '../command-table.js';
import { nameKindOf, type NameSpec } from './names.js';

/** What a value is, for the shells' own completers. */
export type ValueKind = 'file' | 'dir' | 'any';

export interface CompletionOption {
  /** `--data-dir`; absent for a short-only flag. */
  long?: string;
  /** `-q`. */
  short?: string;
  description: string;
  takesValue: boolean;
  valueKind: ValueKind;
  choices: string[] | null;
  /** Names in the database this value takes (names.ts), asked for when completing it. */
  names: NameSpec | null;
}

export interface CompletionArg {
  name: string;
  description: string;
  variadic: boolean;
  valueKind: ValueKind;
  choices: string[] | null;
  names: NameSpec | null;
}

export interface CompletionNode {
  name: string;
  aliases: string[];
  /** Command names from the root (excluded) down to this node. */
  path: string[];
  description: string;
  options: CompletionOption[];
  args: CompletionArg[];
  subcommands: CompletionNode[];
}

/** The kind of value a placeholder (`<file>`, `<dir>`, `FILE.pem`...) names. */
export function valueKindOf(placeholder: string): ValueKind {
  if (/dir(ectory)?\b/i.test(placeholder)) return 'dir';
  if (/file|path|\.pem|\.json|\.csv/i.test(placeholder)) return 'file';
  return 'any';
}

function toOption(o: Option, commandPath: string): CompletionOption {
  const placeholder = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? '';
  return {
    ...(o.long ? { long: o.long } : {}),
    ...(o.short ? { short: o.short } : {}),
    description: o.description,
    takesValue: o.required || o.optional,
    valueKind: o.argChoices ? 'any' : valueKindOf(placeholder),
    choices: o.argChoices ? [...o.argChoices] : null,
    names: o.long ? nameKindOf(commandPath, o.long) : null,
  };
}

function toArg(a: Argument, commandPath: string): CompletionArg {
  return {
    name: a.name(),
    description: a.description,
    variadic: a.variadic,
    valueKind: a.argChoices ? 'any' : valueKindOf(a.name()),
    choices: a.argChoices ? [...a.argChoices] : null,
    names: nameKindOf(commandPath, a.name()),
  };
}

function optionKey(o: CompletionOption): string {
  return o.long ?? o.short ?? '';
}

export function completionTree(program: Command): CompletionNode {
  const help = program.createHelp();
  // Options of the program work at any depth ("global flags before or after the subcommand").
  const globals = help.visibleOptions(program).map((o) => toOption(o, ''));
  const rootOnly = new Set(['--version']);

  function walk(cmd: Command, path: string[]): CompletionNode {
    const own = help.visibleOptions(cmd).map((o) => toOption(o, path.join(' ')));
    const seen = new Set(own.map(optionKey));
    const options =
      path.length === 0
        ? own
        : [...own, ...globals.filter((g) => !seen.has(optionKey(g)) && !rootOnly.has(optionKey(g)))];
    const children = help.visibleCommands(cmd);
    const subcommands = children.map((c) => walk(c, [...path, c.name()]));
    // commander's implicit `help [command]` takes a sibling command's name.
    const helpNode = subcommands.find((s) => s.name === 'help' && s.subcommands.length === 0);
    const siblings = subcommands.filter((s) => s !== helpNode).map((s) => s.name);
    if (helpNode && helpNode.args.length === 1 && helpNode.args[0]) helpNode.args[0].choices = siblings;
    return {
      name: cmd.name(),
      aliases: cmd.aliases(),
      path,
      description: help.subcommandDescription(cmd),
      options,
      args: cmd.registeredArguments.map((a) => toArg(a, path.join(' '))),
      subcommands,
    };
  }
  return walk(program, []);
}

/** What the table says of the program itself (commands/index.ts `PROGRAM`). */
export interface ProgramData {
  name: string;
  description: string;
  version: { flags: string; description: string };
  help: { flags: string; description: string };
  options: Readonly<Record<string, OptionDef>>;
}

/** An option's flags as commander reads them: `-q, --quiet`, `--kid <kid...>`. */
function flagsOption(flags: string, description: string, choices?: readonly string[], commandPath = ''): CompletionOption {
  const words = flags.split(/[ |,]+/);
  const short = words.find((w) => /^-[^-]$/.test(w));
  const long = words.find((w) => w.startsWith('--'));
  const placeholder = /[<[]([^>\]]+)[>\]]/.exec(flags)?.[1] ?? '';
  return {
    ...(long ? { long } : {}),
    ...(short ? { short } : {}),
    description,
    takesValue: /[<[]/.test(flags),
    valueKind: choices ? 'any' : valueKindOf(placeholder),
    choices: choices ? [...choices] : null,
    names: long ? nameKindOf(commandPath, long) : null,
  };
}

/** commander's implicit `help [command]` of a command with subcommands and no action of its own. */
const HELP_COMMAND = { name: 'help', description: 'display help for command' };

/** The completion tree of the table (`entries`: every group loaded, see `fullTable`). */
export function tableTree(program: ProgramData, entries: readonly Entry[]): CompletionNode {
  const help = flagsOption(program.help.flags, program.help.description);
  const globals = Object.values(program.options).map((o) => flagsOption(o.flags, o.description, o.choices));
  const withGlobals = (own: CompletionOption[]) => {
    const seen = new Set(own.map(optionKey));
    return [...own, ...[...globals, help].filter((g) => !seen.has(optionKey(g)))];
  };
  function helpNode(path: string[], siblings: string[]): CompletionNode {
    const args: CompletionArg[] = [{ name: 'command', description: '', variadic: false, valueKind: 'any', choices: siblings, names: null }];
    return { name: HELP_COMMAND.name, aliases: [], path: [...path, HELP_COMMAND.name], description: HELP_COMMAND.description, options: withGlobals([]), args, subcommands: [] };
  }
  function walkAll(list: readonly Entry[], path: string[], hasAction: boolean): CompletionNode[] {
    const nodes = list.map((e) => walk(e, [...path, e.spec.name]));
    return nodes.length > 0 && !hasAction ? [...nodes, helpNode(path, nodes.map((n) => n.name))] : nodes;
  }
  function walk(entry: Entry, path: string[]): CompletionNode {
    const { spec } = entry;
    const own = optionsOf(spec).map(([, o]) => flagsOption(o.flags, o.description, o.choices, path.join(' ')));
    return {
      name: spec.name,
      aliases: [],
      path,
      description: spec.description,
      options: withGlobals([...own, help]),
      args: (spec.args ?? []).map(argDef).map((a) => {
        const name = a.name.replace(/^[<[]|\.\.\.|[>\]]$/g, '');
        const valueKind = a.choices ? 'any' : valueKindOf(name);
        return { name, description: a.description ?? '', variadic: a.name.includes('...'), valueKind, choices: a.choices ? [...a.choices] : null, names: nameKindOf(path.join(' '), name) };
      }),
      subcommands: walkAll(entry.commands ?? [], path, entry.run !== undefined),
    };
  }
  return {
    name: program.name,
    aliases: [],
    path: [],
    description: program.description,
    options: [flagsOption(program.version.flags, program.version.description), ...globals, help],
    args: [],
    subcommands: walkAll(entries, [], false),
  };
}

/** Every node, depth first, root included. */
export function allNodes(root: CompletionNode): CompletionNode[] {
  return [root, ...root.subcommands.flatMap(allNodes)];
}

/** The words a flag may be typed as. */
export function flagWords(o: CompletionOption): string[] {
  return [o.short, o.long].filter((w): w is string => !!w);
}

/** `'it'\''s'`: a word safe inside any POSIX-like shell (bash, zsh). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
