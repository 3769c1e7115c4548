/**
 * The command tree as shell completion needs it, read from the commander program itself (the same
 * one `kaiju-auth` runs), so completion stays right as commands are added: subcommands, flags
 * (global ones at every level), which flags take a value and what kind of value, positional
 * arguments with their choices.
 */
import type { Argument, Command, Option } from 'commander';
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
