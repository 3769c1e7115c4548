/** Declares `keys rotate|list|jwks|import|prune`; handlers in commands/keys.ts. */
import type { Command } from 'commander';
import { Option } from '../commander.js';
import { examples, lazyAction, type Kit } from '../command-kit.js';
import { durationArg } from '../arg-parsers.js';

const load = () => import('../commands/keys.js');

/** Fills the `keys` command (made by program.ts, which holds its description) with its subcommands. */
export function registerKeysCommands(keysCommand: Command, kit: Kit): void {
  const keys = examples(
    keysCommand,
    ['kaiju-auth keys list', '0 * * * *  kaiju-auth keys rotate --if-older-than 12h -q && kaiju-auth keys prune -q   # crontab'],
  );

  examples(
    lazyAction(
      kit,
      keys
        .command('rotate')
        .description('make a new signing key; the old one keeps verifying its tokens until they expire')
        .option('--if-older-than <duration>', 'do nothing (exit 0) while the signing key is younger, e.g. 12h (for cron; 1s to 90d)', durationArg('keyAge'))
        .addOption(new Option('--alg <alg>', 'algorithm of the new key (env KAIJU_AUTH_KEY_ALG)').choices(['ES256', 'RS256', 'EdDSA']))
        .option('--lifetime <duration>', 'how long the new key signs, 2m to 90d (env KAIJU_AUTH_KEY_LIFETIME; default 24h)', durationArg('keyLifetime')),
      async () => (await load()).runKeysRotate,
    ),
    [
      'kaiju-auth keys rotate',
      'kaiju-auth keys rotate --if-older-than 12h -q     # crontab: hourly; rotates at half-life',
      'kaiju-auth keys rotate --alg EdDSA --json',
    ],
  );

  examples(
    lazyAction(
      kit,
      keys.command('list').description('list keys: state (active signs, retired only verifies, expired), age, deadlines'),
      async () => (await load()).runKeysList,
    ),
    ['kaiju-auth keys list', 'kaiju-auth keys list --json | jq -r \'.[] | select(.state=="active") | .kid\''],
  );

  examples(
    lazyAction(
      kit,
      keys
        .command('jwks')
        .description('print the public keys that can still verify tokens, as a standard JWKS')
        .option('--out <file>', 'write the JWKS to FILE instead of stdout (replaced only when complete)'),
      async () => (await load()).runKeysJwks,
    ),
    ['kaiju-auth keys jwks', 'kaiju-auth keys jwks --out /srv/www/.well-known/jwks.json'],
  );

  examples(
    lazyAction(
      kit,
      keys
        .command('import')
        .description('make an existing private key (PEM: RSA >= 2048, EC P-256 or Ed25519) the signing key')
        .argument('<file>', 'PEM file with the private key (PKCS#8, RSA or EC PRIVATE KEY; not passphrase-protected)')
        .option('--kid <kid>', 'key id to publish (default: the JWK thumbprint)')
        .option('--lifetime <duration>', 'how long it signs, 2m to 90d (default 24h; a later rotation retires it)', durationArg('keyLifetime')),
      async () => (await load()).runKeysImport,
    ),
    ['kaiju-auth keys import legacy-rsa.pem --kid legacy-2024', 'openssl genpkey -algorithm ed25519 -out k.pem && kaiju-auth keys import k.pem'],
  );

  examples(
    lazyAction(
      kit,
      keys
        .command('prune')
        .description('drop keys that can no longer verify any token; --kid drops a retired key now (asks; -y)')
        .option('--kid <kid...>', 'drop these keys now: tokens they signed stop verifying (never the signing key)')
        .option('--dry-run', 'show what would be dropped, change nothing'),
      async () => (await load()).runKeysPrune,
    ),
    ['kaiju-auth keys prune -q     # crontab, after rotate', 'kaiju-auth keys prune --kid 0f3a9c...e1 -y   # a leaked key, after a rotation'],
  );
}
