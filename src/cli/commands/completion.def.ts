/** `completion bash|zsh|fish`. Handler in completion.ts. */
import { arg, command } from '../command-table.js';

export const completion = command({
  name: 'completion',
  description: 'print a shell completion script (commands, subcommands, flags)',
  args: [arg('<shell>', 'bash, zsh or fish', { choices: ['bash', 'zsh', 'fish'] })],
  examples: [
    'kaiju-auth completion zsh > "${fpath[1]}/_kaiju-auth"',
    'source <(kaiju-auth completion bash)                       # in ~/.bashrc',
    'kaiju-auth completion fish > ~/.config/fish/completions/kaiju-auth.fish',
  ],
});
