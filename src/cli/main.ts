/**
 * Process entry: builds the program, runs it, turns the outcome into one exit code. The only
 * `process.exit` of the tool is here.
 */
import { buildProgram } from './program.js';
import { EXIT, toErrorReport } from './exit-codes.js';
import type { Io, Runtime } from './runtime.js';

const io: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
let active: Runtime | null = null;
let exiting = false;

async function finish(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    await active?.close();
  }
  process.exit(code);
}

// A reader that goes away (`| head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') void finish(EXIT.ok);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nkaiju-auth: interrupted\n`);
    void finish(signal === 'SIGINT' ? 130 : 143);
  });
}

function wantsJson(argv: string[]): boolean {
  return active?.config.json ?? argv.includes('--json');
}

function isVerbose(argv: string[]): boolean {
  return active?.config.verbose ?? argv.includes('--verbose');
}

const program = buildProgram({ io, onRuntime: (rt) => (active = rt) });
try {
  await program.parseAsync(process.argv);
  await finish(EXIT.ok);
} catch (err) {
  const code = (err as { code?: unknown }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') await finish(EXIT.ok);
  // A command group without its subcommand: commander has printed the group's help already.
  if (code === 'commander.help') await finish(EXIT.usage);
  const report = toErrorReport(err);
  const argv = process.argv.slice(2);
  if (wantsJson(argv)) {
    process.stderr.write(
      `${JSON.stringify({ error: { code: report.code, message: report.message, exit: report.exit, ...(report.details ? { details: report.details } : {}) } })}\n`,
    );
  } else {
    process.stderr.write(`kaiju-auth: ${report.message}\n`);
    if (report.exit === EXIT.usage && typeof code === 'string' && code.startsWith('commander.')) {
      process.stderr.write(`(run kaiju-auth --help for usage)\n`);
    }
  }
  if (report.stack && isVerbose(argv)) process.stderr.write(`${report.stack}\n`);
  await finish(report.exit);
}
