/**
 * Process entry: builds the program, runs it, turns the outcome into one exit code. The only
 * `process.exit` of the tool is here.
 */
import { EXIT } from './exit-table.js';
import { interruptProgress } from './progress.js';
import type { Io, Runtime } from './runtime.js';

/**
 * Everything the tool itself creates is private: the process runs under a umask that masks group
 * and other (the embedded database, its lock, spooled input, temporary files). The user's own
 * umask still shapes the files they name (`--out`), so it is kept for those.
 */
const userUmask = process.umask();
process.umask(userUmask | 0o077);
const io: Io = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  umask: userUmask,
  onExit: (fn) => process.once('exit', fn),
};
let active: Runtime | null = null;
let exiting: Promise<never> | null = null;
let interrupted = false;

/**
 * Settles once all that was written to `stream` has been handed to the OS. A pipe is asynchronous
 * in Node: what its reader has not taken yet waits in our memory, and `process.exit` would drop it
 * (a big `--json` document arrived cut at 64 KiB). An empty write's callback runs after the rest.
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableEnded || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/** Close, let the output out, then exit with `code`. The first call decides; later ones wait for it. */
function finish(code: number, closing: () => Promise<void> = async () => active?.close()): Promise<never> {
  exiting ??= (async () => {
    await closing();
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  })();
  return exiting;
}

// A reader that goes away (`| head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') void finish(EXIT.ok);
});

// A terminal that hung up (SIGHUP) or a stderr pipe that closed: nothing more to say there, and
// no reason to crash before the cleanup below has run.
process.stderr.on('error', () => undefined);

// Ctrl-C / SIGTERM / SIGHUP: stop the work (an open transaction rolls back), free the database, exit
// 128+signal. A second signal exits at once; the data directory lock still goes (an exit hook).
// SIGHUP (the terminal or ssh session went away) likewise: 128 + 1.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(code);
    interrupted = true;
    // A progress bar on screen is finished first: "interrupted" then gets a line of its own.
    const barDone = interruptProgress();
    process.stderr.write(`${barDone ? '' : '\n'}kaiju-auth: interrupted\n`);
    void finish(code, async () => active?.abort());
  });
}

function wantsJson(argv: string[]): boolean {
  return active?.config.json ?? argv.includes('--json');
}

function isVerbose(argv: string[]): boolean {
  return active?.config.verbose ?? argv.includes('--verbose');
}

// `kaiju-auth --version` alone (scripts ask it often): answer without loading the command tree.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { VERSION } = await import('./version.js');
  process.stdout.write(`${VERSION}\n`);
  await finish(EXIT.ok);
}

const { buildProgram, helpArgs } = await import('./program.js');
const program = await buildProgram({ io, onRuntime: (rt) => (active = rt) }, args);
try {
  await program.parseAsync(helpArgs(args, program), { from: 'user' });
  await finish(EXIT.ok);
} catch (err) {
  // After an interrupt the command fails because its database went away: not worth a report.
  if (interrupted) await finish(EXIT.internal);
  // Ctrl-C at a prompt (raw mode: no signal; inquirer rejects instead) is an interrupt too.
  if ((err as { name?: unknown }).name === 'ExitPromptError') {
    process.stderr.write(`\nkaiju-auth: interrupted\n`);
    await finish(130);
  }
  const code = (err as { code?: unknown }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') await finish(EXIT.ok);
  // `kaiju-auth help [cmd]` (exit code 0), or no command at all (help already on stderr): usage.
  if (code === 'commander.help') await finish((err as { exitCode?: number }).exitCode === 0 ? EXIT.ok : EXIT.usage);
  const { toErrorReport } = await import('./exit-codes.js');
  const report = toErrorReport(err);
  if (wantsJson(args)) {
    process.stderr.write(
      `${JSON.stringify({ error: { code: report.code, message: report.message, exit: report.exit, ...(report.details ? { details: report.details } : {}) } })}\n`,
    );
  } else {
    const usage = report.exit === EXIT.usage && typeof code === 'string' && code.startsWith('commander.');
    // Commander puts its suggestion on a line of its own: a usage error is one line plus the hint.
    const message = usage ? report.message.replace(/\s*\n\(Did you mean (.+)\?\)/, ' (did you mean $1?)') : report.message;
    process.stderr.write(`kaiju-auth: ${message}\n`);
    if (usage) {
      const commandPath = (err as { commandPath?: unknown }).commandPath;
      const which = typeof commandPath === 'string' && commandPath !== '' ? `kaiju-auth ${commandPath}` : 'kaiju-auth';
      process.stderr.write(`(run ${which} --help for usage)\n`);
    }
  }
  if (report.stack && isVerbose(args)) process.stderr.write(`${report.stack}\n`);
  await finish(report.exit);
}
