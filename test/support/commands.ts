/**
 * The commands a user can run, for the tests that must run each one (every-command, json-schema):
 * every leaf of the built program as words (`user register`), and `migrate`, which runs itself
 * as well as having subcommands. Read from the built program, so a command added to the table
 * shows up here without a test knowing of it.
 */
import { buildProgram } from '../../dist/src/cli/program.js';

export async function runnableCommands(): Promise<string[]> {
  const program = await buildProgram({ io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: {} }, onRuntime: () => undefined });
  const commands: string[] = [];
  const walk = (c: typeof program, names: string[]) => {
    if (c.commands.length === 0 || names.join(' ') === 'migrate') commands.push(names.join(' '));
    for (const sub of c.commands) walk(sub, [...names, sub.name()]);
  };
  walk(program, []);
  return commands;
}
