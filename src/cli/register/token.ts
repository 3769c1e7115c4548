/** Declares `token issue|verify|refresh|inspect`; handlers in commands/token.ts. */
import type { Command } from 'commander';
import { Option } from '../commander.js';
import { examples, lazyAction, withSecretOptions, type Kit } from '../command-kit.js';
import { durationArg, intArg } from '../arg-parsers.js';

const load = () => import('../commands/token.js');

/** Fills the `token` command (made by program.ts, which holds its description) with its subcommands. */
export function registerTokenCommands(tokenCommand: Command, kit: Kit): void {
  const token = examples(
    tokenCommand,
    ['kaiju-auth token issue --username alice', 'kaiju-auth token verify --jwks jwks.json "$ACCESS"'],
  );

  const issue = withSecretOptions(token
    .command('issue')
    .description('authenticate a user and print {access, refresh}')
    .requiredOption('--username <username>', 'the user')
    .option('--without-password', 'issue without checking a password (administrative; recorded in the audit log)')
    .option('--ttl <duration>', 'access token lifetime, 60s to 24h (env KAIJU_AUTH_ACCESS_TTL; default 1000s)', durationArg('accessTtl'))
    .option('--refresh-ttl <duration>', 'refresh token lifetime, up to 90d, never below --ttl (env KAIJU_AUTH_REFRESH_TTL; default 24h)', durationArg('refreshTtl')));
  examples(
    lazyAction(kit, issue, async () => (await load()).runTokenIssue),
    [
      'kaiju-auth token issue --username alice',
      'printf %s "$PW" | kaiju-auth token issue --username alice --password-stdin --json | jq -r .access',
      'kaiju-auth token issue --username billing-svc --without-password --ttl 15m',
    ],
  );

  examples(
    lazyAction(
      kit,
      token
        .command('verify')
        .description("verify a token: its claims (exit 0) or why not (exit 3); '-' or --batch: one token per stdin line, one JSON line out each")
        .argument('[token]', "the token, or '-' to read tokens from stdin")
        .option('--jwks <file>', 'verify offline against this JWKS (no database)')
        .option('--batch', 'read tokens from stdin, one per line (as TOKEN "-")')
        .addOption(new Option('--type <type>', 'which token type is acceptable').choices(['access', 'refresh', 'any']).default('access'))
        .option('--issuer <iss>', 'require this "iss" (env KAIJU_AUTH_TOKEN_ISSUER)')
        .option('--audience <aud>', 'require this "aud" (env KAIJU_AUTH_TOKEN_AUDIENCE)')
        .option('--clock-skew <duration>', 'tolerance for exp/nbf/iat, 0s to 5m (env KAIJU_AUTH_CLOCK_SKEW; default 60s)', durationArg('clockSkew'))
        .option('--threads <n>', 'with --batch: threads verifying (this one and n-1 workers), 1 to 256 (env KAIJU_AUTH_VERIFY_THREADS; default one per CPU)', intArg('verifyThreads')),
      async () => (await load()).runTokenVerify,
    ),
    [
      'kaiju-auth token verify "$ACCESS"',
      'kaiju-auth token verify --jwks jwks.json --batch < tokens.txt > results.jsonl',
      'kaiju-auth token verify "$REFRESH" --type refresh --json',
    ],
  );

  const refresh = token
    .command('refresh')
    .description('a new pair from a refresh token: the user must still exist, be active and not blocked')
    .argument('[token]', "the refresh token, or '-' to read it from stdin")
    .option('--ttl <duration>', 'access token lifetime of the new pair, 60s to 24h', durationArg('accessTtl'))
    .option('--refresh-ttl <duration>', 'refresh token lifetime of the new pair, up to 90d', durationArg('refreshTtl'));
  examples(
    lazyAction(kit, refresh, async () => (await load()).runTokenRefresh),
    ['kaiju-auth token refresh "$REFRESH" --json', 'echo "$REFRESH" | kaiju-auth token refresh -'],
  );

  examples(
    lazyAction(
      kit,
      token
        .command('inspect')
        .description('decode a token WITHOUT verifying it: header, claims, expiry in human terms')
        .argument('[token]', "the token, or '-' to read it from stdin"),
      async () => (await load()).runTokenInspect,
    ),
    ['kaiju-auth token inspect "$ACCESS"', 'kaiju-auth token inspect - --json < token.txt'],
  );
}
