import { describe, expect, it } from 'vitest';
import { buildClaims, checkClaims, expiryFor, humanDuration, tokenLifetimes } from '../../src/core/tokens/claims.js';
import { resolveTokenSettings } from '../../src/core/tokens/settings.js';
import { resolveTokenConfig } from '../../src/cli/config.js';
import { codeOf } from '../support/errors.js';


describe('token lifetimes (kaiju rules)', () => {
  it('defaults: access 1000 s, refresh 24 h, key 24 h', () => {
    const s = resolveTokenSettings();
    expect([s.accessTtl, s.refreshTtl, s.keyLifetime, s.algorithm, s.clockSkew]).toEqual([1000, 86400, 86400, 'ES256', 60]);
  });

  it('access at least 60 s; refresh never below access', () => {
    expect(resolveTokenSettings({ accessTtl: 5, refreshTtl: 10 })).toMatchObject({ accessTtl: 60, refreshTtl: 60 });
    expect(tokenLifetimes({ accessTtl: 1000, refreshTtl: 86400 }, { accessTtl: 30 })).toEqual({ access: 60, refresh: 86400 });
    expect(tokenLifetimes({ accessTtl: 1000, refreshTtl: 3600 }, { accessTtl: 86400 })).toEqual({ access: 86400, refresh: 86400 });
    expect(tokenLifetimes({ accessTtl: 1000, refreshTtl: 3000 }, { refreshTtl: 100 })).toEqual({ access: 1000, refresh: 1000 });
  });

  it('upper bounds (issue 11 item 10): access 24 h, refresh and key 90 d, clock skew 5 min', () => {
    // Before the bounds, a 2-day access token was issued as asked.
    expect(codeOf(() => tokenLifetimes({ accessTtl: 1000, refreshTtl: 86400 }, { accessTtl: 2 * 86400 }))).toBe('settings.out_of_range');
    expect(codeOf(() => tokenLifetimes({ accessTtl: 1000, refreshTtl: 86400 }, { refreshTtl: 91 * 86400 }))).toBe('settings.out_of_range');
    expect(resolveTokenSettings({ accessTtl: 86400, refreshTtl: 90 * 86400, keyLifetime: 90 * 86400, clockSkew: 300 })).toMatchObject({
      accessTtl: 86400,
      refreshTtl: 90 * 86400,
      keyLifetime: 90 * 86400,
      clockSkew: 300,
    });
    for (const bad of [{ accessTtl: 86401 }, { refreshTtl: 90 * 86400 + 1 }, { keyLifetime: 90 * 86400 + 1 }, { clockSkew: 301 }, { clockSkew: 3650 * 86400 }]) {
      expect(() => resolveTokenSettings(bad)).toThrow(RangeError);
    }
  });

  it('refuses a key lifetime under 2 minutes and unknown algorithms', () => {
    expect(() => resolveTokenSettings({ keyLifetime: 30 })).toThrow(RangeError);
    expect(() => resolveTokenSettings({ algorithm: 'HS256' as never })).toThrow(RangeError);
  });

  it('exp never passes the key deadline', () => {
    const iat = 1_700_000_000;
    expect(expiryFor(iat, 1000, new Date((iat + 5000) * 1000))).toBe(iat + 1000);
    expect(expiryFor(iat, 86400, new Date((iat + 3600) * 1000 + 999))).toBe(iat + 3600);
  });
});

describe('claims', () => {
  const base = { userId: 'u-1', permissions: ['b', 'a'], iat: 100, exp: 200, jti: 'j', issuer: null, audience: null };

  it('access: kaiju claims + sub, jti, typ; permissions sorted; no iss/aud unless configured', () => {
    expect(buildClaims({ ...base, type: 'access' })).toEqual({
      id: 'u-1',
      permissions: ['a', 'b'],
      iat: 100,
      exp: 200,
      sub: 'u-1',
      jti: 'j',
      typ: 'access',
    });
    expect(buildClaims({ ...base, type: 'access', issuer: 'https://auth', audience: 'api' })).toMatchObject({ iss: 'https://auth', aud: 'api' });
  });

  it('refresh tokens carry no permissions', () => {
    expect(buildClaims({ ...base, type: 'refresh' }).permissions).toEqual([]);
  });

  it('checkClaims: type must match, claims must be well-formed', () => {
    const access = { ...buildClaims({ ...base, type: 'access' }) } as Record<string, unknown>;
    expect(checkClaims(access, 'access')).toEqual(access);
    expect(checkClaims(access, 'any')).toEqual(access);
    expect(codeOf(() => checkClaims(access, 'refresh'))).toBe('auth.token.wrong_type');
    expect(codeOf(() => checkClaims({ ...access, typ: undefined }, 'any'))).toBe('auth.token.wrong_type');
    expect(codeOf(() => checkClaims({ ...access, typ: 'id' }, 'any'))).toBe('auth.token.wrong_type');
    expect(codeOf(() => checkClaims({ ...access, id: 7 }, 'access'))).toBe('auth.token.claim_invalid');
    expect(codeOf(() => checkClaims({ ...access, sub: 'someone-else' }, 'access'))).toBe('auth.token.claim_invalid');
    expect(codeOf(() => checkClaims({ ...access, permissions: 'all' }, 'access'))).toBe('auth.token.claim_invalid');
    expect(codeOf(() => checkClaims({ ...access, permissions: [1] }, 'access'))).toBe('auth.token.claim_invalid');
    expect(codeOf(() => checkClaims({ ...access, jti: '' }, 'access'))).toBe('auth.token.claim_invalid');
    expect(codeOf(() => checkClaims({ ...access, exp: '200' }, 'access'))).toBe('auth.token.claim_invalid');
  });

  it('humanDuration: the two largest units', () => {
    expect(humanDuration(0)).toBe('0s');
    expect(humanDuration(59)).toBe('59s');
    expect(humanDuration(1000)).toBe('16m 40s');
    expect(humanDuration(86399)).toBe('23h 59m');
    expect(humanDuration(3 * 86400 + 4 * 3600 + 5)).toBe('3d 4h');
    expect(humanDuration(-90)).toBe('1m 30s');
  });
});

describe('token settings from the environment', () => {
  it('parses durations, algorithm, issuer and audience', () => {
    expect(
      resolveTokenConfig({
        KAIJU_AUTH_ACCESS_TTL: '15m',
        KAIJU_AUTH_REFRESH_TTL: '7d',
        KAIJU_AUTH_KEY_LIFETIME: '48h',
        KAIJU_AUTH_CLOCK_SKEW: '30s',
        KAIJU_AUTH_KEY_ALG: 'EdDSA',
        KAIJU_AUTH_TOKEN_ISSUER: 'https://auth.example',
        KAIJU_AUTH_TOKEN_AUDIENCE: 'api',
      }),
    ).toEqual({
      accessTtl: 900,
      refreshTtl: 604800,
      keyLifetime: 172800,
      clockSkew: 30,
      algorithm: 'EdDSA',
      issuer: 'https://auth.example',
      audience: 'api',
    });
    expect(resolveTokenConfig({})).toEqual({});
  });

  it('bad values are usage errors', () => {
    expect(codeOf(() => resolveTokenConfig({ KAIJU_AUTH_ACCESS_TTL: 'soon' }))).toBe('cli.usage');
    expect(codeOf(() => resolveTokenConfig({ KAIJU_AUTH_KEY_ALG: 'HS256' }))).toBe('cli.usage');
    expect(codeOf(() => resolveTokenConfig({ KAIJU_AUTH_KEY_LIFETIME: '1m' }))).toBe('cli.usage');
    for (const [name, value] of [
      ['KAIJU_AUTH_CLOCK_SKEW', '3650d'],
      ['KAIJU_AUTH_CLOCK_SKEW', '301s'],
      ['KAIJU_AUTH_KEY_LIFETIME', '1000000d'],
      ['KAIJU_AUTH_ACCESS_TTL', '25h'],
      ['KAIJU_AUTH_ACCESS_TTL', '30s'],
      ['KAIJU_AUTH_REFRESH_TTL', '91d'],
      ['KAIJU_AUTH_ACCESS_TTL', '1000'],
      ['KAIJU_AUTH_CLOCK_SKEW', '1.5m'],
    ]) {
      expect(codeOf(() => resolveTokenConfig({ [name as string]: value })), `${name}=${value}`).toBe('cli.usage');
    }
  });
});
