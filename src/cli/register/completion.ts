/** Declares `completion bash|zsh|fish`; handler in commands/completion.ts. */
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
}
