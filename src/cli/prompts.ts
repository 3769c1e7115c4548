/**
 * Interactive prompts (inquirer), loaded only when a person must be asked. Output of prompts goes
 * to stderr so stdout stays clean for results.
 */
import { cliError } from './cli-errors.js';
import type { Io } from './runtime.js';

/** Ctrl-C at a prompt (inquirer's ExitPromptError) ends the run as an interruption. */
async function interruptible<T>(prompt: Promise<T>): Promise<T> {
  try {
    return await prompt;
  } catch (err) {
    if ((err as Error | null)?.name === 'ExitPromptError') throw cliError('cli.interrupted', 'interrupted');
    throw err;
  }
}

export async function askConfirm(message: string, io: Io): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  return interruptible(confirm({ message, default: false }, { input: io.stdin, output: io.stderr } as never));
}

/**
 * A masked prompt; when `confirmMessage` is given, the value must be typed twice alike.
 * `validate` (returns an error message or true) is checked on the first entry, so a weak new
 * password is refused before it is typed twice.
 */
export async function askSecret(
  message: string,
  io: Io,
  confirmMessage?: string,
  validate?: (value: string) => string | true,
): Promise<string> {
  const { password } = await import('@inquirer/prompts');
  const ctx = { input: io.stdin, output: io.stderr } as never;
  for (;;) {
    const first = await interruptible(password({ message, mask: '*', ...(validate ? { validate } : {}) }, ctx));
    if (!confirmMessage) return first;
    const second = await interruptible(password({ message: confirmMessage, mask: '*' }, ctx));
    if (first === second) return first;
    io.stderr.write('The two entries differ; try again.\n');
  }
}

/** A line of plain text (a username, an email), checked by `validate` before it is accepted. */
export async function askText(message: string, io: Io, validate?: (value: string) => string | true): Promise<string> {
  const { input } = await import('@inquirer/prompts');
  return interruptible(input({ message, required: true, ...(validate ? { validate } : {}) }, { input: io.stdin, output: io.stderr } as never));
}
