/**
 * The strict value parsers every flag and environment variable goes through (issue 12 item 6):
 * whole-text matches, bounded digits, ranges from the core's constants. Generated inputs are in
 * test/fault/values.fault.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DURATIONS, INTEGERS, ValueError, formatDuration, parseDuration, parseInteger } from '../../src/cli/values.js';
import { resolveConfig, type GlobalFlags } from '../../src/cli/config.js';
import { isCodedError } from '../support/errors.js';
import { BCRYPT_COST_RANGE } from '../../src/core/passwords.js';
import { TOKEN_SETTING_RANGES } from '../../src/core/tokens/settings.js';

const ANY = { min: 0, max: Number.MAX_SAFE_INTEGER };

describe('parseDuration', () => {
  it('a whole number and a unit, or 0', () => {
    expect(['500ms', '90s', '15m', '12h', '7d', '2w', '0', '0ms', '010s'].map((v) => parseDuration(v, ANY))).toEqual([
      500, 90_000, 900_000, 43_200_000, 604_800_000, 1_209_600_000, 0, 0, 10_000,
    ]);
  });

  it.each(['10', '1.5h', '1e1s', ' 90s', '90s ', '90 s', '90S', '-5s', '+5s', '0x10s', '1h30m', '', 's', 'Infinityd', 'NaNs', '９０s', '99999999999999999d'])(
    'refuses %j with the accepted form',
    (raw) => {
      expect(() => parseDuration(raw, ANY)).toThrow(ValueError);
      expect(() => parseDuration(raw, ANY)).toThrow(/a whole number and a unit \(ms, s, m, h, d, w\)/);
    },
  );

  it('bounds: inclusive, beyond is refused naming the range; no overflow to NaN', () => {
    const r = DURATIONS.keyLifetime;
    expect(parseDuration('2m', r)).toBe(120_000);
    expect(parseDuration('90d', r)).toBe(90 * 86_400_000);
    expect(() => parseDuration('119s', r)).toThrow(/from 2m to 90d/);
    expect(() => parseDuration('91d', r)).toThrow(/from 2m to 90d/);
    expect(() => parseDuration('9999999999999999w', ANY)).toThrow(ValueError);
  });

  it('ranges of core settings are the core constants', () => {
    expect(DURATIONS.clockSkew).toEqual({ min: 0, max: TOKEN_SETTING_RANGES.clockSkew.max * 1000 });
    expect(DURATIONS.accessTtl.max).toBe(TOKEN_SETTING_RANGES.accessTtl.max * 1000);
    expect(INTEGERS.bcryptCost).toBe(BCRYPT_COST_RANGE);
  });

  it('formatDuration writes the shortest exact form', () => {
    expect([0, 500, 1000, 60_000, 90_000, 3_600_000, 86_400_000, 604_800_000, 1500].map(formatDuration)).toEqual([
      '0s', '500ms', '1s', '1m', '90s', '1h', '1d', '1w', '1500ms',
    ]);
  });
});

describe('parseInteger', () => {
  it('decimal digits with an optional minus, within the range', () => {
    expect(parseInteger('13', BCRYPT_COST_RANGE)).toBe(13);
    expect(parseInteger('-0', ANY)).toBe(0);
    expect(Object.is(parseInteger('-0', ANY), -0)).toBe(false);
  });

  it.each(['1e1', '0x10', ' 8', '8 ', '8.0', '+8', '', '-', '１０', '99999999999999999999'])('refuses %j', (raw) => {
    expect(() => parseInteger(raw, ANY)).toThrow(/expected an integer from 0 to/);
  });

  it('out of range', () => {
    expect(() => parseInteger('3', BCRYPT_COST_RANGE)).toThrow('expected an integer from 4 to 31');
    expect(() => parseInteger('32', BCRYPT_COST_RANGE)).toThrow('expected an integer from 4 to 31');
  });
});

describe('environment settings', () => {
  const codeOf = (env: Record<string, string>) => {
    try {
      resolveConfig({}, env, false);
      return 'ok';
    } catch (err) {
      if (isCodedError(err)) return `${err.code}: ${err.message}`;
      throw err;
    }
  };
  it('KAIJU_AUTH_BCRYPT_ROUNDS=1e1, a bare lock timeout, a PGPORT in hex: usage errors naming the variable', () => {
    expect(codeOf({ KAIJU_AUTH_BCRYPT_ROUNDS: '1e1' })).toBe('cli.usage: invalid KAIJU_AUTH_BCRYPT_ROUNDS "1e1": expected an integer from 4 to 31');
    expect(codeOf({ KAIJU_AUTH_LOCK_TIMEOUT: '10' })).toMatch(/^cli\.usage: invalid KAIJU_AUTH_LOCK_TIMEOUT "10": expected a duration from 0s to 1d/);
    expect(codeOf({ KAIJU_AUTH_DATABASE_URL: 'postgres://h/d', PGPORT: '0x1f' })).toMatch(/^cli\.usage: invalid PGPORT/);
    expect(codeOf({ KAIJU_AUTH_FAILED_LOGIN_DELAY: '0', KAIJU_AUTH_BCRYPT_ROUNDS: '31', KAIJU_AUTH_LOCK_TIMEOUT: '0s' })).toBe('ok');
  });

  it('a bad lock timeout is refused on PostgreSQL too (it used to be ignored there)', () => {
    expect(codeOf({ KAIJU_AUTH_DATABASE_URL: 'postgres://h/d', KAIJU_AUTH_LOCK_TIMEOUT: '1.5s' })).toMatch(/^cli\.usage: invalid KAIJU_AUTH_LOCK_TIMEOUT/);
    expect(() => resolveConfig({ databaseUrl: 'postgres://h/d', lockTimeout: '10' }, {}, false)).toThrow(/invalid --lock-timeout "10"/);
  });

  it('timeouts: the kind of command picks the defaults; a flag beats its variable, which beats the default', () => {
    const pg = { KAIJU_AUTH_DATABASE_URL: 'postgres://h/d' };
    const timeouts = (command: string, flags: GlobalFlags = {}, env: Record<string, string> = {}) => {
      const target = resolveConfig(flags, { ...pg, ...env }, false, command).target;
      return target.kind === 'postgres' ? target.timeouts : null;
    };
    expect(timeouts('user show')).toEqual({ connectMs: 10_000, statementMs: 30_000, lockMs: 10_000, idleInTransactionMs: 60_000 });
    expect(timeouts('user import')).toEqual({ connectMs: 10_000, statementMs: 300_000, lockMs: 60_000, idleInTransactionMs: 300_000 });
    expect(timeouts('migrate')).toEqual({ connectMs: 10_000, statementMs: 1_800_000, lockMs: 120_000, idleInTransactionMs: 300_000 });
    const env = { KAIJU_AUTH_STATEMENT_TIMEOUT: '2m', KAIJU_AUTH_LOCK_TIMEOUT: '0', KAIJU_AUTH_CONNECT_TIMEOUT: '500ms', KAIJU_AUTH_IDLE_IN_TRANSACTION_TIMEOUT: '1h' };
    expect(timeouts('seed', {}, env)).toEqual({ connectMs: 500, statementMs: 120_000, lockMs: 0, idleInTransactionMs: 3_600_000 });
    expect(timeouts('seed', { statementTimeout: '5s', lockTimeout: '3s' }, env)).toMatchObject({ statementMs: 5000, lockMs: 3000 });
    // The embedded database waits for its directory as long as the kind waits for a lock.
    expect(resolveConfig({ dataDir: '/d' }, {}, false, 'migrate').target).toMatchObject({ kind: 'embedded', lockTimeoutMs: 120_000 });
    expect(resolveConfig({ dataDir: '/d' }, {}, false, 'status').target).toMatchObject({ kind: 'embedded', lockTimeoutMs: 10_000 });
  });

  it('timeouts out of range or without a unit: usage errors, on either database', () => {
    expect(codeOf({ KAIJU_AUTH_STATEMENT_TIMEOUT: '0' })).toMatch(/^cli\.usage: invalid KAIJU_AUTH_STATEMENT_TIMEOUT "0": expected a duration from 100ms to 1d/);
    expect(codeOf({ KAIJU_AUTH_CONNECT_TIMEOUT: '11m' })).toMatch(/^cli\.usage: invalid KAIJU_AUTH_CONNECT_TIMEOUT "11m": expected a duration from 100ms to 10m/);
    expect(codeOf({ KAIJU_AUTH_IDLE_IN_TRANSACTION_TIMEOUT: '500ms' })).toMatch(/^cli\.usage: invalid KAIJU_AUTH_IDLE_IN_TRANSACTION_TIMEOUT/);
    expect(() => resolveConfig({ databaseUrl: 'postgres://h/d', statementTimeout: '30' }, {}, false)).toThrow(/invalid --statement-timeout "30"/);
  });

  it('a huge value is cut in the message', () => {
    const message = codeOf({ KAIJU_AUTH_CLOCK_SKEW: '9'.repeat(100_000) });
    expect(message.length).toBeLessThan(300);
  });
});
