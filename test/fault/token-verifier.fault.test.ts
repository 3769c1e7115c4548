/**
 * The fast path of batch verification (TokenVerifier: node:crypto on cached keys, issue 15 item 4)
 * against the reference (`verifyToken`: jose), generated: tokens for ES256, RS256 and EdDSA keys
 * that are valid, tampered, expired, not yet valid, issued in the future, beyond their key, of the
 * wrong type, issuer or audience, high-S, with duplicate or escaped members, odd headers, odd
 * JSON, odd base64url, oversize, or garbage, verified under varied options at a fixed time. For
 * every one the verifier's answer (claims as JSON, or code and message) is the reference's, and a
 * claims answer of the synchronous path is the reference's valid answer; a plain valid token with a
 * usable key is answered by the synchronous path (so the fast path is not silently bypassed).
 * Counts are printed; fewer cases under CI=true.
 */
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyMaterial, type KeyMaterial } from '../../src/core/keys/key-material.js';
import { importJwks, importedJwksResolver, jwksResolver, parseJwks, type KeyResolver } from '../../src/core/keys/jwks.js';
import { TokenVerifier } from '../../src/core/tokens/token-verifier.js';
import { verifyToken, type VerifyOptions } from '../../src/core/tokens/verify.js';
import { MAX_TOKEN_LENGTH } from '../../src/core/tokens/settings.js';
import { lowS } from '../../src/core/tokens/strict.js';
import { isKaijuAuthError } from '../../src/errors.js';

const CI = process.env.CI === 'true';
const RUNS = CI ? 1500 : 5000;
const ALGS = ['ES256', 'RS256', 'EdDSA'] as const;
type Alg = (typeof ALGS)[number];
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

const NOW = Math.floor(Date.now() / 1000);
const NOW_MS = NOW * 1000 + 500;
/** The ES256 and EdDSA keys stop verifying at this offset from NOW (their JWK `exp`). */
const KEY_LIFE = 3600;

const own = {} as Record<Alg, KeyMaterial>;
const stranger = {} as Record<Alg, KeyMaterial>;
let weakRsa: KeyObject;
let reference: KeyResolver;
let fastResolver: KeyResolver;
const verifiers = new Map<string, TokenVerifier>();
const counts = { cases: 0, fast: 0, valid: 0, fallback: 0, mismatches: 0 };
const codes = new Map<string, number>();

const enc = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64url');
const json = (v: unknown) => JSON.stringify(v);

/** A member list rendered as JSON object text in one of several spellings. */
type Members = [string, string][];
const FORMS = ['canonical', 'spaced', 'duplicate', 'escaped', 'bom', 'bad-utf8', 'array', 'not-json', 'nested-duplicate'] as const;
type Form = (typeof FORMS)[number];

function render(members: Members, form: Form): Buffer {
  const body = (sep: string, colon: string, ms: Members) => `{${ms.map(([k, v]) => `${json(k)}${colon}${v}`).join(sep)}}`;
  switch (form) {
    case 'canonical':
      return Buffer.from(body(',', ':', members));
    case 'spaced':
      return Buffer.from(` ${body(' , ', ' : ', members)}\n`);
    case 'duplicate':
      return Buffer.from(body(',', ':', members.length ? [...members, members[members.length - 1] as [string, string]] : [['a', '1'], ['a', '1']]));
    case 'escaped':
      return Buffer.from(body(',', ':', members).replace(/"([a-z])([a-z]*)":/, (_m, a: string, rest: string) => `"\\u00${a.charCodeAt(0).toString(16)}${rest}":`));
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body(',', ':', members))]);
    case 'bad-utf8':
      return Buffer.concat([Buffer.from(body(',', ':', [...members, ['z', '"']])).subarray(0, -2), Buffer.from([0xc3, 0x28, 0x22, 0x7d])]);
    case 'array':
      return Buffer.from(`[${body(',', ':', members)}]`);
    case 'not-json':
      return Buffer.from(body(',', ':', members).slice(0, -1));
    case 'nested-duplicate':
      return Buffer.from(body(',', ':', [...members, ['x', '{"a":1,"a":2}']]));
  }
}

interface Recipe {
  alg: Alg;
  signer: 'own' | 'stranger' | 'weak-rsa';
  kid: 'own' | 'unknown' | 'missing' | 'number' | 'broken' | 'weak-rsa' | 'other-alg' | 'empty';
  headerAlg: 'same' | 'none' | 'HS256' | 'other' | 'missing';
  headerExtra: 'none' | 'reordered' | 'cty' | 'crit' | 'b64' | 'jku';
  headerForm: Form;
  claims: Members;
  claimsForm: Form;
  sig: 'good' | 'high-s' | 'tampered' | 'short' | 'long' | 'non-canonical' | 'empty' | 'padded';
  token: 'plain' | 'spaces' | 'extra-dot' | 'two-parts' | 'oversize';
  options: VerifyOptions;
}

const offset = fc.constantFrom(-100_000, -400, -301, -300, -299, -61, -60, -59, -1, 0, 1, 59, 60, 61, 299, 300, 301, KEY_LIFE - 1, KEY_LIFE, KEY_LIFE + 1, 86_400);
const time = (base: number) =>
  fc.oneof(
    { arbitrary: offset.map((o) => String(base + o)), weight: 8 },
    { arbitrary: fc.constantFrom('"123"', 'null', '1e400', `${base}.5`, `${base}.0`, '-1', 'true'), weight: 1 },
  );
/** An optional member: absent, or one of the values given. */
const opt = (name: string, values: fc.Arbitrary<string>, absentWeight = 1): fc.Arbitrary<Members> =>
  fc.oneof({ arbitrary: fc.constant([] as Members), weight: absentWeight }, { arbitrary: values.map((v): Members => [[name, v]]), weight: 3 });

const claimsArb: fc.Arbitrary<Members> = fc
  .record({
    id: fc.oneof({ arbitrary: fc.constant('"u1"'), weight: 8 }, { arbitrary: fc.constantFrom('""', '5', 'null'), weight: 1 }),
    sub: fc.oneof({ arbitrary: fc.constant('same'), weight: 8 }, { arbitrary: fc.constantFrom('"u2"', 'absent'), weight: 1 }),
    permissions: fc.oneof({ arbitrary: fc.constantFrom('["a","b"]', '[]', '["users.read","\\u00e9"]'), weight: 8 }, { arbitrary: fc.constantFrom('"a"', '[1]', 'absent'), weight: 1 }),
    iat: fc.oneof({ arbitrary: offset.map((o) => String(NOW + Math.min(o, 0))), weight: 6 }, { arbitrary: time(NOW), weight: 2 }, { arbitrary: fc.constant('absent'), weight: 1 }),
    exp: fc.oneof({ arbitrary: fc.constant(String(NOW + 600)), weight: 6 }, { arbitrary: time(NOW), weight: 3 }, { arbitrary: fc.constant('absent'), weight: 1 }),
    nbf: opt('nbf', time(NOW), 6),
    jti: fc.oneof({ arbitrary: fc.constant('"j1"'), weight: 8 }, { arbitrary: fc.constantFrom('""', '7', 'absent'), weight: 1 }),
    typ: fc.oneof({ arbitrary: fc.constant('"access"'), weight: 6 }, { arbitrary: fc.constantFrom('"refresh"', '"other"', '1', 'absent'), weight: 2 }),
    iss: opt('iss', fc.constantFrom('"https://iss.example"', '"https://evil.example"', '5', '["https://iss.example"]'), 3),
    aud: opt('aud', fc.constantFrom('"api"', '"other"', '["x","api"]', '["x"]', '7', '[]'), 3),
    extra: fc.oneof(
      { arbitrary: fc.constant([] as Members), weight: 6 },
      { arbitrary: fc.constantFrom<Members>([['__proto__', '{"a":1}']], [['toJSON', '"x"']], [['deep', '{"a":[{"b":{"c":null}}]}']], [['n', '1e3']], [['s', '"\\ud800"']]), weight: 1 },
    ),
  })
  .map((c) => {
    const m: Members = [];
    const put = (name: string, v: string) => v !== 'absent' && m.push([name, v]);
    put('id', c.id);
    put('permissions', c.permissions);
    put('iat', c.iat);
    put('exp', c.exp);
    put('sub', c.sub === 'same' ? c.id : c.sub);
    put('jti', c.jti);
    put('typ', c.typ);
    return [...m, ...c.nbf, ...c.iss, ...c.aud, ...c.extra];
  });

const optionsArb: fc.Arbitrary<VerifyOptions> = fc.record({
  type: fc.constantFrom<VerifyOptions['type']>('access', 'access', 'refresh', 'any'),
  clockSkew: fc.constantFrom(0, 60, 60, 300),
  issuer: fc.constantFrom<string | null>(null, null, 'https://iss.example'),
  audience: fc.constantFrom<string | null>(null, null, 'api'),
});

const weighted = <T>(common: T, ...rare: T[]) => fc.oneof({ arbitrary: fc.constant(common), weight: rare.length * 3 }, { arbitrary: fc.constantFrom(...rare), weight: rare.length });

/** Claims most of which are valid under most options: boundaries of time, type and iss/aud vary. */
const cleanClaimsArb: fc.Arbitrary<Members> = fc
  .record({
    iat: fc.oneof({ arbitrary: fc.constant(NOW - 5), weight: 3 }, { arbitrary: offset.map((o) => NOW + Math.min(o, 400)), weight: 1 }),
    exp: fc.oneof({ arbitrary: fc.constant(NOW + 600), weight: 3 }, { arbitrary: offset.map((o) => NOW + Math.max(o, -400)), weight: 1 }),
    nbf: fc.option(offset.map((o) => NOW + o), { freq: 2 }),
    typ: fc.constantFrom('access', 'access', 'access', 'refresh'),
    iss: fc.option(fc.constantFrom('https://iss.example', 'https://iss.example', 'https://evil.example')),
    aud: fc.option(fc.constantFrom<string | string[]>('api', ['x', 'api'], 'other')),
    permissions: fc.array(fc.constantFrom('users.read', 'users.write', 'caf\u00e9', 'a"b'), { maxLength: 4 }),
  })
  .map((c) => {
    const m: Members = [
      ['id', '"u1"'],
      ['permissions', json(c.permissions)],
      ['iat', String(c.iat)],
      ['exp', String(c.exp)],
      ['sub', '"u1"'],
      ['jti', '"j1"'],
      ['typ', json(c.typ)],
    ];
    if (c.nbf !== null) m.push(['nbf', String(c.nbf)]);
    if (c.iss !== null) m.push(['iss', json(c.iss)]);
    if (c.aud !== null) m.push(['aud', json(c.aud)]);
    return m;
  });

const cleanRecipeArb: fc.Arbitrary<Recipe> = fc.record({
  alg: fc.constantFrom(...ALGS),
  signer: fc.constant<Recipe['signer']>('own'),
  kid: fc.constant<Recipe['kid']>('own'),
  headerAlg: fc.constant<Recipe['headerAlg']>('same'),
  headerExtra: fc.constantFrom<Recipe['headerExtra']>('none', 'none', 'reordered'),
  headerForm: fc.constantFrom<Form>('canonical', 'canonical', 'canonical', 'spaced', 'escaped', 'bom'),
  claims: cleanClaimsArb,
  claimsForm: fc.constantFrom<Form>('canonical', 'canonical', 'canonical', 'spaced', 'escaped', 'bom', 'duplicate', 'nested-duplicate'),
  sig: weighted<Recipe['sig']>('good', 'high-s', 'tampered'),
  token: fc.constant<Recipe['token']>('plain'),
  options: fc.record({
    type: fc.constantFrom<VerifyOptions['type']>('access', 'access', 'any'),
    clockSkew: fc.constantFrom(0, 60, 300),
    issuer: fc.constantFrom<string | null>(null, null, null, 'https://iss.example'),
    audience: fc.constantFrom<string | null>(null, null, null, 'api'),
  }),
});

const anyRecipeArb: fc.Arbitrary<Recipe> = fc.record({
  alg: fc.constantFrom(...ALGS),
  signer: weighted<Recipe['signer']>('own', 'stranger', 'weak-rsa'),
  kid: weighted<Recipe['kid']>('own', 'unknown', 'missing', 'number', 'broken', 'weak-rsa', 'other-alg', 'empty'),
  headerAlg: weighted<Recipe['headerAlg']>('same', 'none', 'HS256', 'other', 'missing'),
  headerExtra: weighted<Recipe['headerExtra']>('none', 'reordered', 'cty', 'crit', 'b64', 'jku'),
  headerForm: weighted<Form>('canonical', ...FORMS.filter((f) => f !== 'canonical')),
  claims: claimsArb,
  claimsForm: weighted<Form>('canonical', ...FORMS.filter((f) => f !== 'canonical')),
  sig: weighted<Recipe['sig']>('good', 'high-s', 'tampered', 'short', 'long', 'non-canonical', 'empty', 'padded'),
  token: weighted<Recipe['token']>('plain', 'spaces', 'extra-dot', 'two-parts', 'oversize'),
  options: optionsArb,
});

const recipeArb = fc.oneof({ arbitrary: cleanRecipeArb, weight: 2 }, { arbitrary: anyRecipeArb, weight: 3 });

function kidOf(r: Recipe): string | number | undefined {
  switch (r.kid) {
    case 'own':
      return own[r.alg].publicJwk.kid;
    case 'unknown':
      return 'nobody';
    case 'missing':
      return undefined;
    case 'number':
      return 7;
    case 'broken':
      return 'broken';
    case 'weak-rsa':
      return 'weak-rsa';
    case 'other-alg':
      return own[r.alg === 'ES256' ? 'EdDSA' : 'ES256'].publicJwk.kid;
    case 'empty':
      return '';
  }
}

function headerMembers(r: Recipe): Members {
  const alg = { same: r.alg, none: 'none', HS256: 'HS256', other: r.alg === 'RS256' ? 'ES256' : 'RS256', missing: undefined }[r.headerAlg];
  const kid = kidOf(r);
  let m: Members = [['typ', '"JWT"']];
  if (alg !== undefined) m.push(['alg', json(alg)]);
  if (kid !== undefined) m.push(['kid', json(kid)]);
  if (r.headerExtra === 'reordered') m = m.reverse();
  if (r.headerExtra === 'cty') m.push(['cty', '"JWT"']);
  if (r.headerExtra === 'crit') m.push(['crit', '["b64"]'], ['b64', 'true']);
  if (r.headerExtra === 'b64') m.push(['b64', 'false']);
  if (r.headerExtra === 'jku') m.push(['jku', '"https://evil.example/jwks"']);
  return m;
}

function signWith(r: Recipe, input: Buffer): Buffer {
  const key = r.signer === 'weak-rsa' ? weakRsa : (r.signer === 'own' ? own : stranger)[r.alg].privateKey;
  if (key.asymmetricKeyType === 'ec') {
    const sig = Buffer.from(lowS(cryptoSign('sha256', input, { key, dsaEncoding: 'ieee-p1363' })));
    if (r.sig !== 'high-s') return sig;
    const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
    return Buffer.concat([sig.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
  }
  return cryptoSign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', input, key);
}

function makeToken(r: Recipe): string {
  let claims = r.claims;
  if (r.token === 'oversize') claims = [...claims, ['pad', json('x'.repeat(MAX_TOKEN_LENGTH))]];
  const input = `${enc(render(headerMembers(r), r.headerForm))}.${enc(render(claims, r.claimsForm))}`;
  const sig = signWith(r, Buffer.from(input));
  let s: string;
  switch (r.sig) {
    case 'tampered':
      sig[5] = (sig[5] as number) ^ 1;
      s = enc(sig);
      break;
    case 'short':
      s = enc(sig.subarray(1));
      break;
    case 'long':
      s = enc(Buffer.concat([sig, Buffer.from([0])]));
      break;
    case 'non-canonical': {
      // The last character carries unused bits: set one (same bytes, another spelling).
      s = enc(sig);
      const last = s.length % 4 === 0 ? -1 : 'AQgw'.indexOf(s[s.length - 1] as string);
      s = last < 0 ? `${s}=` : `${s.slice(0, -1)}${String.fromCharCode((s.charCodeAt(s.length - 1) as number) + 1)}`;
      break;
    }
    case 'empty':
      s = '';
      break;
    case 'padded':
      s = sig.toString('base64');
      break;
    default:
      s = enc(sig);
  }
  const token = `${input}.${s}`;
  switch (r.token) {
    case 'spaces':
      return ` \t${token}\r`;
    case 'extra-dot':
      return `${token}.x`;
    case 'two-parts':
      return input;
    default:
      return token;
  }
}

type Outcome = { ok: string } | { code: string; message: string };

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: JSON.stringify(await p) };
  } catch (err) {
    if (!isKaijuAuthError(err)) throw err;
    return { code: err.code, message: err.message };
  }
}

function verifierFor(options: VerifyOptions): TokenVerifier {
  const key = JSON.stringify(options);
  let v = verifiers.get(key);
  if (!v) {
    v = new TokenVerifier(fastResolver, { ...options, now: new Date(NOW_MS) });
    verifiers.set(key, v);
  }
  return v;
}

/** A token the synchronous path must answer when the reference finds it valid. */
function plainRecipe(r: Recipe): boolean {
  return r.kid === 'own' && r.headerAlg === 'same' && ['none', 'reordered'].includes(r.headerExtra) && r.token === 'plain' && r.signer === 'own';
}

beforeAll(async () => {
  for (const alg of ALGS) {
    own[alg] = await generateKeyMaterial(alg);
    stranger[alg] = await generateKeyMaterial(alg);
  }
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
  weakRsa = weak.privateKey;
  const jwks = {
    keys: [
      { ...own.ES256.publicJwk, exp: NOW + KEY_LIFE },
      own.RS256.publicJwk,
      { ...own.EdDSA.publicJwk, exp: NOW + KEY_LIFE },
      { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak-rsa', alg: 'RS256' },
      { kty: 'EC', crv: 'P-256', x: own.ES256.publicJwk.x, y: own.ES256.publicJwk.x, kid: 'broken', alg: 'ES256' },
    ],
  };
  reference = jwksResolver(parseJwks(jwks));
  fastResolver = importedJwksResolver(await importJwks(parseJwks(jwks)));
}, 60_000);

describe('TokenVerifier against verifyToken (jose), generated', () => {
  it('the same answer for every token, under every option; valid plain tokens on the fast path', { timeout: 600_000 }, async () => {
    try {
      await fc.assert(
        fc.asyncProperty(recipeArb, async (r) => {
          counts.cases += 1;
          const token = makeToken(r);
          const verifier = verifierFor(r.options);
          const expected = await outcome(verifyToken(token, reference, { ...r.options, now: new Date(NOW_MS) }));
          const got = await outcome(verifier.verify(token));
          if (JSON.stringify(got) !== JSON.stringify(expected)) counts.mismatches += 1;
          expect(got).toEqual(expected);
          // The header is learnt now: the synchronous path answers valid tokens only, as the reference does.
          const quick = verifier.verifyKnownJson(token, NOW_MS);
          expect(JSON.stringify(verifier.verifyKnown(token, NOW_MS))).toBe(quick);
          expect(verifier.verifyKnownBytes(Buffer.from(token, 'latin1'), NOW_MS)).toBe(quick);
          // Inside a batch's bytes and text (as token-batch.ts hands them), between other lines.
          const around = `x.y.z\n${token}\nq`;
          expect(verifier.verifyKnownIn(around, Buffer.from(around, 'latin1'), 6, 6 + token.length, NOW_MS)).toBe(quick);
          if ('ok' in expected) counts.valid += 1;
          else codes.set(expected.code, (codes.get(expected.code) ?? 0) + 1);
          if (quick === undefined) {
            counts.fallback += 1;
            if ('ok' in expected) expect(plainRecipe(r) && ['canonical', 'spaced', 'escaped', 'bom'].includes(r.headerForm)).toBe(false);
          } else {
            counts.fast += 1;
            if (JSON.stringify({ ok: quick }) !== JSON.stringify(expected)) counts.mismatches += 1;
            expect({ ok: quick }).toEqual(expected);
          }
        }),
        { numRuns: RUNS },
      );
    } finally {
      console.log(
        `fault/token-verifier: ${counts.cases} cases, ${counts.valid} valid, ${counts.fast} answered by the fast path, ` +
          `${counts.fallback} by the reference, ${counts.mismatches} mismatches; refusals: ` +
          [...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${n} ${c.replace('auth.token.', '')}`).join(', '),
      );
    }
    // The generator reaches both sides: valid tokens through the fast path, and refusals.
    expect(counts.fast).toBeGreaterThan(RUNS / 20);
    expect(counts.cases - counts.valid).toBeGreaterThan(RUNS / 2);
  });

  it('a key is not used on the fast path from its verifiesUntil (the reference answers then)', async () => {
    const verifier = new TokenVerifier(fastResolver, {});
    const claims = json({ id: 'u1', permissions: [], iat: NOW, exp: NOW + KEY_LIFE, sub: 'u1', jti: 'j', typ: 'access' });
    const input = `${enc(json({ typ: 'JWT', alg: 'ES256', kid: own.ES256.publicJwk.kid }))}.${enc(claims)}`;
    const token = `${input}.${enc(Buffer.from(lowS(cryptoSign('sha256', Buffer.from(input), { key: own.ES256.privateKey, dsaEncoding: 'ieee-p1363' }))))}`;
    expect((await verifier.verify(token)).jti).toBe('j');
    const until = (NOW + KEY_LIFE) * 1000;
    expect(verifier.verifyKnown(token, until - 1)?.jti).toBe('j');
    expect(verifier.verifyKnown(token, until)).toBeUndefined();
    // Offline, a JWKS key's exp only bounds its tokens' exp: the reference still finds it valid.
    const later = new TokenVerifier(fastResolver, { now: new Date(until) });
    expect(await outcome(later.verify(token))).toEqual(await outcome(verifyToken(token, reference, { now: new Date(until) })));
  });
});
