// `node --import` hook for tests: the first JSON.parse of a large text (a fixture file, not a
// server's small answer) writes a marker line to stderr at once (a synchronous write), so a test
// can tell whether a command checked its files before it said which database it uses (issue 13
// item 11: the first line must not wait for work the command does on its own thread).
import { writeSync } from 'node:fs';

const MARKER = '[test hook: parsing a large JSON text]';
const LARGE = Number(process.env.KAIJU_AUTH_TEST_LARGE_JSON ?? 200_000);

let marked = false;
const parse = JSON.parse;
JSON.parse = function markLargeParse(text, reviver) {
  if (!marked && typeof text === 'string' && text.length >= LARGE) {
    marked = true;
    writeSync(2, `${MARKER}\n`);
  }
  return parse.call(this, text, reviver);
};
