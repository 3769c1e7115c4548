/**
 * `completion bash|zsh|fish`: the script is generated from the program's own command tree (the
 * same `buildProgram` that parses this run), so every command registered is completed.
 */
import type { Runtime } from '../runtime.js';
import { bashScript } from '../completion/bash.js';
import { fishScript } from '../completion/fish.js';
import { zshScript } from '../completion/zsh.js';
import { completionTree, type CompletionNode } from '../completion/tree.js';

export type Shell = 'bash' | 'zsh' | 'fish';

const GENERATORS: Record<Shell, (root: CompletionNode, bin: string) => string> = {
  bash: bashScript,
  zsh: zshScript,
  fish: fishScript,
};

/** The completion script for `shell`, from a fresh copy of the command tree. */
export async function completionScript(shell: Shell, rt: Pick<Runtime, 'io'>): Promise<string> {
  const { buildProgram } = await import('../program.js');
  const program = await buildProgram({ io: rt.io, onRuntime: () => undefined });
  return GENERATORS[shell](completionTree(program), program.name());
}

export async function runCompletion(rt: Runtime, _opts: unknown, shell: Shell): Promise<void> {
  const script = await completionScript(shell, rt);
  await rt.out.result({ shell, script }, () => rt.out.line(script.trimEnd()));
}
