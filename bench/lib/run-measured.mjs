/**
 * Runs one command (argv after this script) and prints, as one JSON line on stdout, what the
 * first-minutes benchmark measures of it: wall time, the time to its first byte on stderr (what a
 * person sees first), and the peak memory of the process (max RSS, from GNU time's %M: the
 * command runs under /usr/bin/time). Timing starts at the spawn, so this script's own start-up is
 * not counted. The command's stdout is discarded; a non-zero exit is reported, with its stderr.
 */
import { spawn } from 'node:child_process';

const TIME = '/usr/bin/time';
const MARK = 'KAIJU_BENCH_MAXRSS_KB=';
const [command, ...args] = process.argv.slice(2);
const started = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
const child = spawn(TIME, ['-f', `\n${MARK}%M`, command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
// When each chunk of stderr came: GNU time's own line comes last, so the command's first byte is
// the first chunk that starts before where that line starts.
const chunks = [];
let stderr = '';
child.stderr.setEncoding('utf8').on('data', (s) => {
  chunks.push({ offset: stderr.length, ms: ms() });
  stderr += s;
});
child.on('close', (code) => {
  const wall = ms();
  const at = stderr.lastIndexOf(MARK);
  const maxrss = at >= 0 ? Number(stderr.slice(at + MARK.length).trim()) : null;
  const own = at >= 0 ? stderr.slice(0, at).replace(/\n$/, '') : stderr;
  const firstByte = own.length > 0 ? chunks[0].ms : null;
  process.stdout.write(`${JSON.stringify({ code, wall_ms: wall, first_stderr_ms: firstByte, maxrss_kb: maxrss, stderr: code === 0 ? undefined : own })}\n`);
});
