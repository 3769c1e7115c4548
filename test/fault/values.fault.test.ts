/**
 * Hostile input, generated (issue 12 fault suite): durations, integers, every environment setting
 * and database URLs. Each case gets its documented outcome: a value within its range, or a usage
 * error (exit 2) with the accepted form; never another exception (exit 1), never NaN, never the
 * password of a URL in a message. Counts are printed; fewer cases under CI=true.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DURATIONS, INTEGERS, ValueError, parseDuration, parseInteger, type Range } from '../../src/cli/values.js';
import { resolveConfig, resolveTarget } from '../../src/cli/config.js';
import { toErrorReport } from '../../src/cli/exit-codes.js';
import { isCodedError } from '../support/errors.js';
import { describeTarget } from '../../src/db/target.js';
import { openPostgresKnex } from '../../src/db/postgres.js';
import { removeTempDirs, runCli } from '../support/cli.js';

const CI = process.env.CI === 'true';
const RUNS = CI ? 1500 : 5000;
const CLI_RUNS = CI ? 8 : 24;
const counts: Record<string, number> = {};
const count = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);

afterAll(async () => {
  console.log(`fault/values: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}`);
  await removeTempDirs();
});

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const unit = fc.constantFrom('ms', 's', 'm', 'h', 'd', 'w', 'S', 'sec', 'y', '', ' s', 'µs');
const digits = fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 25n }).map(String), fc.stringMatching(/^[0-9]{1,30}$/));
/** Strings shaped like numbers and durations, and anything at all. */
const numberish = fc.oneof(
  fc.tuple(fc.constantFrom('', '-', '+', ' ', '0x', '0b'), digits, fc.constantFrom('', '.5', 'e1', 'e400', ',0', '_0'), unit).map((p) => p.join('')),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e1', '0', '-0', '00', '１０', '٣', '9007199254740993', '1.5h', '10'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

/** The documented meaning of a duration, computed independently of the parser. */
function durationModel(raw: string, range: Range): number | 'error' {
  const m = /^([0-9]+)(ms|s|m|h|d|w)$/.exec(raw);
  const ms = raw === '0' ? 0 : m ? Number(BigInt(m[1] as string) * BigInt(UNITS[m[2] as keyof typeof UNITS])) : NaN;
  return Number.isSafeInteger(ms) && ms >= range.min && ms <= range.max && (m === null || (m[1] as string).length <= 16) ? ms : 'error';
}

function integerModel(raw: string, range: Range): number | 'error' {
  if (!/^-?[0-9]{1,16}$/.test(raw)) return 'error';
  const n = Number(raw) === 0 ? 0 : Number(raw);
  return Number.isSafeInteger(n) && n >= range.min && n <= range.max ? n : 'error';
}

function outcome(parse: () => number): number | 'error' {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ValueError) return 'error';
    throw err;
  }
}

describe('value parsers under generated input', () => {
  it('durations: exactly the documented form and range, for every setting', () => {
    fc.assert(
      fc.property(numberish, fc.constantFrom(...Object.values(DURATIONS)), (raw, range) => {
        count('durations');
        expect(outcome(() => parseDuration(raw, range))).toBe(durationModel(raw, range));
      }),
      { numRuns: RUNS },
    );
  });

  it('integers: exactly the documented form and range, for every setting', () => {
    fc.assert(
      fc.property(numberish, fc.constantFrom(...Object.values(INTEGERS)), (raw, range) => {
        count('integers');
        expect(outcome(() => parseInteger(raw, range))).toBe(integerModel(raw, range));
      }),
      { numRuns: RUNS },
    );
  });

  it('every environment setting: its value, or a one-line usage error (exit 2) naming the variable', () => {
    const names = [
      'KAIJU_AUTH_BCRYPT_ROUNDS',
      'KAIJU_AUTH_LOCK_TIMEOUT',
      'KAIJU_AUTH_CONNECT_TIMEOUT',
      'KAIJU_AUTH_STATEMENT_TIMEOUT',
      'KAIJU_AUTH_IDLE_IN_TRANSACTION_TIMEOUT',
      'KAIJU_AUTH_ACCESS_TTL',
      'KAIJU_AUTH_REFRESH_TTL',
      'KAIJU_AUTH_KEY_LIFETIME',
      'KAIJU_AUTH_CLOCK_SKEW',
      'KAIJU_AUTH_FAILED_LOGIN_DELAY',
      'KAIJU_AUTH_FAILED_LOGIN_JITTER',
      'PGPORT',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...names), numberish, (name, raw) => {
        count('environment settings');
        const env = { [name]: raw, KAIJU_AUTH_DATABASE_URL: name === 'PGPORT' ? 'postgres://h/d' : undefined };
        try {
          resolveConfig({}, env, false);
        } catch (err) {
          expect(isCodedError(err), String(err)).toBe(true);
          const report = toErrorReport(err);
          expect(report.exit).toBe(2);
          expect(report.message).toContain(name);
          expect(report.message).not.toContain('\n');
          expect(report.message.length).toBeLessThan(400);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

/** A password that cannot occur by chance elsewhere in a URL, with characters URLs treat specially. */
const password = fc
  .tuple(fc.string({ unit: fc.constantFrom(...'@:/?#%[]&=+ $!\'"\\;,~*'.split('')), maxLength: 6 }), fc.stringMatching(/^[A-Za-z0-9]{6,12}$/))
  .map(([special, core]) => `Pw${core}${special}Zq`);
const hostish = fc.constantFrom('127.0.0.1:1', 'localhost:1', '[::1]:1', '', '[::1', '127.0.0.1:99999', 'h:port', '%zz:1', '127.0.0.1:1:2');
const urlParts = fc.record({
  scheme: fc.constantFrom('postgres://', 'postgresql://', 'POSTGRES://', 'mysql://', 'postgres:/', 'postgres:', ''),
  user: fc.oneof(fc.constant('app'), fc.string({ maxLength: 8 })),
  password,
  encode: fc.boolean(),
  host: hostish,
  path: fc.oneof(fc.constant('/db'), fc.string({ maxLength: 10 }).map((s) => `/${s}`)),
  query: fc.oneof(fc.constant(''), fc.constantFrom('?sslmode=disable', '?application_name=x', '?password=', '?options=-c%20x')),
});

function urlOf(p: { scheme: string; user: string; password: string; encode: boolean; host: string; path: string; query: string }): string {
  const pw = p.encode ? encodeURIComponent(p.password) : p.password;
  const query = p.query === '?password=' ? `?password=${encodeURIComponent(p.password)}` : p.query;
  return `${p.scheme}${p.user}:${pw}@${p.host}${p.path}${query}`;
}

/** The forms in which a password could leak: as given, percent-encoded, and its core. */
function leaks(text: string, pw: string): boolean {
  const core = pw.slice(2, pw.indexOf('Zq') > 0 ? pw.lastIndexOf('Zq') : undefined).replace(/[^A-Za-z0-9].*$/, '');
  return text.includes(pw) || text.includes(encodeURIComponent(pw)) || (core.length >= 8 && text.includes(core));
}

describe('database URLs under generated input', () => {
  it('the leaks the generator found stay fixed: a # in the user name, a password in a fragment', () => {
    for (const url of ['postgres://#:PwaaaaaaZq@127.0.0.1:1/db?sslmode=disable', 'postgres://:Pw0Aa0aaZq@127.0.0.1:1/#?password=Pw0Aa0aaZq']) {
      const description = describeTarget(resolveTarget({ databaseUrl: url }, {}));
      expect(description).not.toMatch(/Pw0Aa0aaZq|PwaaaaaaZq/);
    }
  });

  it('resolve to a target or a usage error; the description and every error never show the password', async () => {
    await fc.assert(
      fc.asyncProperty(urlParts, async (parts) => {
        count('URLs');
        const url = urlOf(parts);
        let target;
        try {
          target = resolveTarget({ databaseUrl: url }, {});
        } catch (err) {
          expect(isCodedError(err) && toErrorReport(err).exit).toBe(2);
          expect(leaks(String((err as Error).message), parts.password)).toBe(false);
          return;
        }
        const description = describeTarget(target);
        expect(leaks(description, parts.password), `${url} -> ${description}`).toBe(false);
        if (target.kind !== 'postgres') return;
        // What openDatabase does before connecting: parse the URL (a throw there is db.invalid_url
        // with the description above as its message).
        try {
          const opened = await openPostgresKnex(target);
          await opened.knex.destroy();
        } catch {
          /* mapped to db.invalid_url by openDatabase */
        }
      }),
      { numRuns: CI ? 800 : 3000 },
    );
  });

  it('through the CLI: exit 2 or 7 with one line, never 1, never the password', { timeout: 300_000 }, async () => {
    const samples = fc.sample(urlParts, { numRuns: CLI_RUNS, seed: 42 });
    for (const parts of samples) {
      count('URLs through the CLI');
      const url = urlOf(parts);
      const r = await runCli(['status', '--json', '--database-url', url], { timeoutMs: 60_000 });
      expect([2, 7], `${url}: ${r.stderr}`).toContain(r.code);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.errorJson().error.exit).toBe(r.code);
      expect(leaks(r.stderr, parts.password), `${url}: ${r.stderr}`).toBe(false);
    }
  });
});
