/** A KaijuAuth on a test database with fast settings (bcrypt cost 4, no failed-login delay). */
import { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings, type AuthSettings } from '../../src/core/context.js';
import type { TestDb } from './db.js';

export const TEST_SETTINGS: Partial<AuthSettings> = {
  actor: 'tester',
  bcryptRounds: 4,
  failedLoginDelayMs: { base: 0, jitter: 0 },
};

export function testAuth(t: TestDb, overrides: Partial<AuthSettings> = {}): KaijuAuth {
  return new KaijuAuth(t.knex, resolveSettings({ ...TEST_SETTINGS, ...overrides }));
}

/** A password that passes kaiju's rules. */
export const PASSWORD = 'correct horse 1';
export const PASSWORD_2 = 'battery staple 2';
