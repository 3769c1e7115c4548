/** `token issue|verify|refresh|inspect`: JWTs. Handlers in token.ts. */
import { arg, command, option, runsFrom, type GroupBody } from '../command-table.js';
import { PASSWORD_OPTIONS } from '../command-kit.js';
import { durationArg, intArg } from '../arg-parsers.js';


export const issue = command({
  name: 'issue',
  description: 'authenticate a user and print {access, refresh}',
  options: {
    username: option('--username <username>', 'the user', { required: true }),
    withoutPassword: option('--without-password', 'issue without checking a password (administrative; recorded in the audit log)'),
    ttl: option('--ttl <duration>', 'access token lifetime, 60s to 24h (env KAIJU_AUTH_ACCESS_TTL; default 1000s)', {
      parse: durationArg('accessTtl'),
      env: 'KAIJU_AUTH_ACCESS_TTL',
    }),
    refreshTtl: option('--refresh-ttl <duration>', 'refresh token lifetime, up to 90d, never below --ttl (env KAIJU_AUTH_REFRESH_TTL; default 24h)', {
      parse: durationArg('refreshTtl'),
      env: 'KAIJU_AUTH_REFRESH_TTL',
    }),
    ...PASSWORD_OPTIONS,
  },
  examples: [
    'kaiju-auth token issue --username alice',
    'printf %s "$PW" | kaiju-auth token issue --username alice --password-stdin --json | jq -r .access',
    'kaiju-auth token issue --username billing-svc --without-password --ttl 15m',
  ],
});

export const verify = command({
  name: 'verify',
  description: "verify a token: its claims (exit 0) or why not (exit 3); '-' or --batch: one token per stdin line, one JSON line out each",
  args: [arg('[token]', "the token, or '-' to read tokens from stdin")],
  options: {
    jwks: option('--jwks <file>', 'verify offline against this JWKS (no database)'),
    batch: option('--batch', 'read tokens from stdin, one per line (as TOKEN "-")'),
    type: option('--type <type>', 'which token type is acceptable', { choices: ['access', 'refresh', 'any'], default: 'access' }),
    issuer: option('--issuer <iss>', 'require this "iss" (env KAIJU_AUTH_TOKEN_ISSUER)', { env: 'KAIJU_AUTH_TOKEN_ISSUER' }),
    audience: option('--audience <aud>', 'require this "aud" (env KAIJU_AUTH_TOKEN_AUDIENCE)', { env: 'KAIJU_AUTH_TOKEN_AUDIENCE' }),
    clockSkew: option('--clock-skew <duration>', 'tolerance for exp/nbf/iat, 0s to 5m (env KAIJU_AUTH_CLOCK_SKEW; default 60s)', {
      parse: durationArg('clockSkew'),
      env: 'KAIJU_AUTH_CLOCK_SKEW',
    }),
    threads: option(
      '--threads <n>',
      'with --batch: threads verifying (this one and n-1 workers), 1 to 256 (env KAIJU_AUTH_VERIFY_THREADS; default one per CPU)',
      { parse: intArg('verifyThreads'), env: 'KAIJU_AUTH_VERIFY_THREADS' },
    ),
  },
  examples: [
    'kaiju-auth token verify "$ACCESS"',
    'kaiju-auth token verify --jwks jwks.json --batch < tokens.txt > results.jsonl',
    'kaiju-auth token verify "$REFRESH" --type refresh --json',
  ],
});

export const refresh = command({
  name: 'refresh',
  description: 'a new pair from a refresh token: the user must still exist, be active and not blocked',
  args: [arg('[token]', "the refresh token, or '-' to read it from stdin")],
  options: {
    ttl: option('--ttl <duration>', 'access token lifetime of the new pair, 60s to 24h', { parse: durationArg('accessTtl') }),
    refreshTtl: option('--refresh-ttl <duration>', 'refresh token lifetime of the new pair, up to 90d', { parse: durationArg('refreshTtl') }),
  },
  examples: ['kaiju-auth token refresh "$REFRESH" --json', 'echo "$REFRESH" | kaiju-auth token refresh -'],
});

export const inspect = command({ name: 'inspect', description: 'decode a token WITHOUT verifying it: header, claims, expiry in human terms',
  args: [arg('[token]', "the token, or '-' to read it from stdin")], examples: ['kaiju-auth token inspect "$ACCESS"', 'kaiju-auth token inspect - --json < token.txt'] });

const body: GroupBody = {
  examples: ['kaiju-auth token issue --username alice', 'kaiju-auth token verify --jwks jwks.json "$ACCESS"'],
  commands: runsFrom(() => import('./token.js'), { tokenIssue: issue, tokenVerify: verify, tokenRefresh: refresh, tokenInspect: inspect }),
};
export default body;
