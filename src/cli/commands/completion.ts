/**
 * `completion bash|zsh|fish`: the script is generated from the command table (`tableTree`), so
 * every command declared there is completed. The table comes in from commands/index.ts, which
 * loads this module: this one imports no table (no import cycle).
 */
import type { Runtime } from '../runtime.js';
import type { Entry } from '../command-table.js';
import { bashScript } from '../completion/bash.js';
import { fishScript } from '../completion/fish.js';
import { zshScript } from '../completion/zsh.js';
import { tableTree, type CompletionNode, type ProgramData } from '../completion/tree.js';

export type Shell = 'bash' | 'zsh' | 'fish';

const GENERATORS: Record<Shell, (root: CompletionNode, bin: string) => string> = {
  bash: bashScript,
  zsh: zshScript,
  fish: fishScript,
};

/** The completion script for `shell`, from the table (every group loaded). */
export function completionScript(shell: Shell, program: ProgramData, table: readonly Entry[]): string {
  return GENERATORS[shell](tableTree(program, table), program.name);
}

export async function runCompletion(rt: Runtime, shell: Shell, program: ProgramData, table: readonly Entry[]): Promise<void> {
  const script = completionScript(shell, program, table);
  await rt.out.result({ shell, script }, () => rt.out.line(script.trimEnd()));
}
