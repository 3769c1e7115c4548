/**
 * Interactive prompts (inquirer), loaded only when a person must be asked. Output of prompts goes
 * to stderr so stdout stays clean for results.
 */
import type { Io } from './runtime.js';

export async function askConfirm(message: string, io: Io): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message, default: false }, { input: io.stdin, output: io.stderr } as never);
}

/** A masked prompt; when `confirmMessage` is given, the value must be typed twice alike. */
export async function askSecret(message: string, io: Io, confirmMessage?: string): Promise<string> {
  const { password } = await import('@inquirer/prompts');
  const ctx = { input: io.stdin, output: io.stderr } as never;
  for (;;) {
    const first = await password({ message, mask: '*' }, ctx);
    if (!confirmMessage) return first;
    const second = await password({ message: confirmMessage, mask: '*' }, ctx);
    if (first === second) return first;
    io.stderr.write('The two entries differ; try again.\n');
  }
}
