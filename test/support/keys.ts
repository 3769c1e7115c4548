/** Helpers for key and token tests: a controllable clock and a KaijuAuth with a key secret. */
import { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings, type AuthSettingsInput } from '../../src/core/context.js';
import type { TestDb } from './db.js';
import { TEST_SETTINGS } from './auth.js';

export const KEY_SECRET = 'a test key secret, long enough';
export const HOUR = 3600_000;

export class Clock {
  t: number;
  constructor(start = Date.parse('2026-06-01T00:00:00Z')) {
    this.t = start;
  }
  now = () => new Date(this.t);
  advance(ms: number) {
    this.t += ms;
  }
}

export function keyAuth(t: TestDb, clock: Clock | null, overrides: AuthSettingsInput = {}): KaijuAuth {
  return new KaijuAuth(
    t.knex,
    resolveSettings({ ...TEST_SETTINGS, keySecret: KEY_SECRET, ...(clock ? { now: clock.now } : {}), ...overrides }),
  );
}

/** The one `codeOf`, here too for the tests that take their key helpers from this module. */
export { codeOf } from './errors.js';
