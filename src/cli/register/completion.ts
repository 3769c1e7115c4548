/** Declares `completion bash|zsh|fish` (handler in commands/completion.ts) and the hidden `__complete`. */
import type { Command } from 'commander';
import { Argument } from '../commander.js';
import { examples, lazyAction, type Kit } from '../command-kit.js';

export function registerCompletionCommand(program: Command, kit: Kit): void {
  examples(
    lazyAction(
      kit,
      program
        .command('completion')
        .description('print a shell completion script (commands, subcommands, flags)')
        .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish'])),
      async () => (await import('../commands/completion.js')).runCompletion,
    ),
    [
      'kaiju-auth completion zsh > "${fpath[1]}/_kaiju-auth"',
      'source <(kaiju-auth completion bash)                       # in ~/.bashrc',
      'kaiju-auth completion fish > ~/.config/fish/completions/kaiju-auth.fish',
    ],
  );
  // Hidden: the scripts' way to ask for names in the database (commands/complete-names.ts).
  program
    .command('__complete <kind> [prefix]', { hidden: true })
    .action(async (kind: string, prefix: string | undefined, _options: unknown, self: Command) =>
      (await import('../commands/complete-names.js')).printNames(kit.io, self.optsWithGlobals(), kind, prefix ?? ''),
    );
}
