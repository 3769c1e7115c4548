/**
 * `token issue`, `token verify`, `token refresh`, `token inspect`. Offline verification
 * (`--jwks FILE`) never opens a database nor loads its drivers: the database path is imported
 * only when needed.
 */
import { availableParallelism } from 'node:os';
import { authError } from '../../errors.js';
import { cliError } from '../cli-errors.js';
import { humanDuration, type TokenClaims } from '../../core/tokens/claims.js';
import type { IssuedTokens } from '../../core/tokens/issue.js';
import type { InspectedToken } from '../../core/tokens/inspect.js';
import { TokenVerifier } from '../../core/tokens/token-verifier.js';
import { importJwks, importedJwksResolver, jwksResolver, parseJwks, type Jwks, type KeyResolver } from '../../core/keys/jwks.js';
import { verifyingKeysResolver } from '../../core/keys/key-queries.js';
import { DEFAULT_TOKEN_SETTINGS, MAX_TOKEN_LENGTH } from '../../core/tokens/settings.js';
import { readNamedFile } from '../read-file.js';
import { readSecret, readStdinLines } from '../secrets.js';
import { verifyLines, type BatchRunner } from '../token-batch.js';
import type { Runtime } from '../runtime.js';
import type { VerifyWorkerData } from '../token-verify-pool.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './token.def.js';

/** Lifetimes as commander parsed them (ms, within their ranges). */
type TtlFlags = OptionsOf<typeof def.refresh>;

function ttlOptions(flags: TtlFlags) {
  return {
    ...(flags.ttl !== undefined ? { accessTtl: flags.ttl / 1000 } : {}),
    ...(flags.refreshTtl !== undefined ? { refreshTtl: flags.refreshTtl / 1000 } : {}),
  };
}

/**
 * No token where one is needed: exit 2. An empty variable (`verify $TOKEN`, `verify "$TOKEN"`)
 * must never pass as if there were nothing to check.
 */
function missingToken(message: string) {
  return authError('auth.token.missing', message);
}

/** The token argument, or the first non-blank line of stdin for '-' (stdin is read only then). */
async function tokenArgument(rt: Runtime, token: string | undefined): Promise<string> {
  if (token === undefined) throw missingToken("no token: give it as an argument, or '-' to read it from stdin");
  if (token !== '-') {
    if (token.trim() === '') throw missingToken('the token argument is empty');
    return token;
  }
  const line = (await readStdinLines(rt)).find((l) => l.trim() !== '');
  if (line === undefined) throw missingToken('no token on stdin');
  return line.trim();
}

function printPair(rt: Runtime, issued: IssuedTokens): void | Promise<void> {
  return rt.out.result({ access: issued.access, refresh: issued.refresh }, () => {
    const now = Date.now() / 1000;
    const { access, refresh } = issued.claims;
    rt.out.notice(
      `kaiju-auth: access token expires in ${humanDuration(access.exp - now)}, refresh token in ${humanDuration(refresh.exp - now)}; ` +
        `${access.permissions.length} permission(s)`,
    );
    rt.out.line(`access:  ${issued.access}`);
    rt.out.line(`refresh: ${issued.refresh}`);
  });
}

export async function runTokenIssue(rt: Runtime, opts: OptionsOf<typeof def.issue>) {
  const ttl = ttlOptions(opts);
  if (opts.withoutPassword && (opts.passwordStdin || opts.passwordFile !== undefined)) {
    throw cliError('cli.usage', '--without-password takes no password: drop --password-stdin / --password-file');
  }
  const auth = await rt.auth();
  // The signing key first: a missing or wrong key secret is reported before asking for a password.
  await auth.keys.signingKey();
  const issued = opts.withoutPassword
    ? await auth.tokens.issueWithoutPassword(opts.username, ttl)
    : await auth.tokens.issue(opts.username, await readSecret(rt, opts, { label: `password for ${opts.username}` }), ttl);
  await printPair(rt, issued);
}

export async function runTokenRefresh(rt: Runtime, opts: TtlFlags, token?: string) {
  const ttl = ttlOptions(opts);
  const text = await tokenArgument(rt, token);
  const auth = await rt.auth();
  await printPair(rt, await auth.tokens.refresh(text, ttl));
}

type VerifyFlags = OptionsOf<typeof def.verify>;

async function readJwksFile(file: string): Promise<Jwks> {
  const text = await readNamedFile(file, `--jwks ${file}`, 'cli.usage', { file });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw authError('data.file_invalid', `${file}: not JSON`, { file });
  }
  return parseJwks(doc, file);
}

function describeClaims(rt: Runtime, claims: TokenClaims): void {
  const now = Date.now() / 1000;
  const { out } = rt;
  out.line(`${out.c.green('valid')} ${claims.typ} token, expires in ${humanDuration(claims.exp - now)}`);
  out.keyValues([
    ['user id', claims.id],
    ['permissions', claims.permissions.join(', ') || '(none)'],
    ['issued', new Date(claims.iat * 1000)],
    ['expires', new Date(claims.exp * 1000)],
    ['jti', claims.jti],
    ...(claims.iss !== undefined ? ([['iss', claims.iss]] as [string, string][]) : []),
    ...(claims.aud !== undefined ? ([['aud', String(claims.aud)]] as [string, string][]) : []),
  ]);
}

export async function runTokenVerify(rt: Runtime, opts: VerifyFlags, token?: string) {
  // stdin only when asked: a missing argument never means "read stdin" (an empty $TOKEN would pass).
  const batch = !!opts.batch || token === '-';
  if (opts.batch && token !== undefined && token !== '-') throw cliError('cli.usage', '--batch reads tokens from stdin: drop the TOKEN argument');
  if (!batch && token === undefined) throw missingToken("no token: give it as an argument, or '-' / --batch to read tokens from stdin");
  if (!batch && token?.trim() === '') throw missingToken('the token argument is empty');
  const env = rt.config.tokens;
  const settings = {
    type: opts.type ?? 'access',
    clockSkew: opts.clockSkew !== undefined ? opts.clockSkew / 1000 : (env.clockSkew ?? DEFAULT_TOKEN_SETTINGS.clockSkew),
    issuer: opts.issuer ?? env.issuer ?? null,
    audience: opts.audience ?? env.audience ?? null,
  };
  const jwks = opts.jwks !== undefined ? await readJwksFile(opts.jwks) : null;
  if (!batch) {
    const resolver = jwks ? jwksResolver(jwks) : await (await rt.auth()).keys.resolver();
    const { verifyToken } = await import('../../core/tokens/verify.js');
    // No `now`: verification reads the clock itself.
    const claims = await verifyToken(token as string, resolver, settings);
    // The shape of a `--batch` line without its `line`: `{valid, claims}` (a failure is exit 3).
    await rt.out.result({ valid: true, claims }, () => describeClaims(rt, claims));
    return;
  }
  // The keys, read once: what a worker thread needs to verify (the JWKS's imported, or the
  // keystore's public sides and states); big batches are then verified on every CPU.
  const threads = opts.threads ?? rt.config.verifyThreads ?? availableParallelism();
  let keys: VerifyWorkerData['keys'];
  let resolver: KeyResolver;
  if (jwks) {
    const imported = await importJwks(jwks);
    keys = { jwks: imported };
    resolver = importedJwksResolver(imported);
  } else {
    const rows = await (await rt.auth()).keys.verifyingKeys();
    keys = { keystore: rows };
    resolver = verifyingKeysResolver(rows, () => new Date());
  }
  let startRunner: (() => BatchRunner) | null = null;
  if (threads > 1) {
    const { VerifyPool } = await import('../token-verify-pool.js');
    startRunner = () => {
      // This thread is one of them: it verifies whenever every worker has enough to do.
      const pool = new VerifyPool(threads - 1, { keys, options: settings });
      rt.onClose(() => pool.close());
      return pool;
    };
  }
  const counts = await verifyLines(rt.io.stdin as AsyncIterable<Buffer | string>, rt.io.stdout, {
    maxLength: MAX_TOKEN_LENGTH,
    verifier: new TokenVerifier(resolver, settings),
    startRunner,
  });
  if (counts.total === 0) throw missingToken('no token on stdin: the batch read no line');
  if (counts.failed > 0) {
    throw authError('auth.token.invalid', `${counts.failed} of ${counts.total} token(s) failed verification`, counts as unknown as Record<string, unknown>);
  }
  rt.out.notice(`kaiju-auth: ${counts.total} token(s) verified`);
}

/** The JSON shape of `token inspect`: header and claims as the token has them, our fields in snake_case. */
function inspectedJson(t: InspectedToken) {
  return {
    verified: t.verified,
    header: t.header,
    claims: t.claims,
    type: t.type,
    issued_at: t.issuedAt,
    expires_at: t.expiresAt,
    expires_in_seconds: t.expiresInSeconds,
    expired: t.expired,
  };
}

export async function runTokenInspect(rt: Runtime, _opts: unknown, token?: string) {
  const text = await tokenArgument(rt, token);
  const { inspectToken } = await import('../../core/tokens/inspect.js');
  const seen = inspectToken(text);
  await rt.out.result(inspectedJson(seen), () => {
    const { out } = rt;
    out.line(out.c.yellow.bold('NOT VERIFIED: decoded only; do not trust anything below'));
    const when =
      seen.expiresInSeconds === null
        ? 'no expiry (exp missing)'
        : seen.expiresInSeconds > 0
          ? `expires in ${humanDuration(seen.expiresInSeconds)} (${seen.expiresAt?.toISOString()})`
          : `expired ${humanDuration(-seen.expiresInSeconds)} ago (${seen.expiresAt?.toISOString()})`;
    out.keyValues([
      ['type', seen.type ?? '(no typ claim)'],
      ['expiry', when],
      ['issued', seen.issuedAt],
    ]);
    out.line(out.c.bold('header:'));
    out.line(JSON.stringify(seen.header, null, 2));
    out.line(out.c.bold('claims:'));
    out.line(JSON.stringify(seen.claims, null, 2));
  });
}
