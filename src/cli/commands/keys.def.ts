/** `keys rotate|list|jwks|import|rekey|revoke|prune`: signing keys. Handlers in keys.ts. */
import { arg, command, option, runsFrom, type GroupBody } from '../command-table.js';
import { durationArg } from '../arg-parsers.js';
import { pagingOptions } from '../command-kit.js';


export const rotate = command({
  name: 'rotate',
  description:
    'one step of key rotation, for cron: when due, publish a next key; once it has been in the JWKS for ' +
    'KAIJU_AUTH_JWKS_MAX_AGE (+ clock skew), switch to it; the old key keeps verifying its tokens until they expire',
  options: {
    ifOlderThan: option('--if-older-than <duration>', 'rotation is due once the signing key has signed this long (default: half its lifetime; 1s to 90d)', {
      parse: durationArg('keyAge'),
    }),
    now: option('--now', 'switch now (a leaked key): the next key, or a new one, signs at once; verifiers with an older JWKS reject its tokens until they refetch'),
    jwksMaxAge: option(
      '--jwks-max-age <duration>',
      'how long verifiers cache the JWKS: a next key signs only after this (env KAIJU_AUTH_JWKS_MAX_AGE; default 15m; 0s to 24h)',
      { parse: durationArg('jwksMaxAge'), env: 'KAIJU_AUTH_JWKS_MAX_AGE' },
    ),
    alg: option('--alg <alg>', 'algorithm of the new key (env KAIJU_AUTH_KEY_ALG)', { choices: ['ES256', 'RS256', 'EdDSA'], env: 'KAIJU_AUTH_KEY_ALG' }),
    lifetime: option('--lifetime <duration>', 'how long the new key signs, 2m to 90d (env KAIJU_AUTH_KEY_LIFETIME; default 24h)', {
      parse: durationArg('keyLifetime'),
      env: 'KAIJU_AUTH_KEY_LIFETIME',
    }),
  },
  dryRun: true,
  examples: [
    'kaiju-auth keys rotate',
    '*/10 * * * *  kaiju-auth keys rotate -q     # crontab: publishes at half-life, switches 15m later',
    'kaiju-auth keys rotate --now     # a leaked key: switch at once',
    'kaiju-auth keys rotate --alg EdDSA --json',
  ],
});

export const list = command({
  name: 'list',
  description: 'list keys: state (next is published and will sign, active signs, retired only verifies, expired, revoked), age, deadlines',
  options: pagingOptions('keys'),
  examples: ['kaiju-auth keys list', 'kaiju-auth keys list --json | jq -r \'.[] | select(.state=="active") | .kid\''],
});

export const jwks = command({
  name: 'jwks',
  description: 'print the public keys that can still verify tokens, as a standard JWKS',
  options: {
    out: option('--out <file>', 'write the JWKS to FILE instead of stdout (replaced only when complete)'),
    ifChanged: option('--if-changed', 'with --out: rewrite FILE only when its content would change (exit 0 either way; says which unless -q)'),
  },
  examples: ['kaiju-auth keys jwks', 'kaiju-auth keys jwks --out /srv/www/.well-known/jwks.json --if-changed -q   # crontab, after rotate'],
});

export const importKey = command({
  name: 'import',
  description: 'make an existing private key (PEM: RSA >= 2048, EC P-256 or Ed25519) the signing key',
  args: [arg('<file>', 'PEM file with the private key (PKCS#8, RSA or EC PRIVATE KEY; not passphrase-protected)')],
  options: {
    kid: option('--kid <kid>', 'key id to publish (default: the JWK thumbprint)'),
    lifetime: option('--lifetime <duration>', 'how long it signs, 2m to 90d (default 24h; a later rotation retires it)', { parse: durationArg('keyLifetime') }),
  },
  dryRun: true,
  examples: ['kaiju-auth keys import legacy-rsa.pem --kid legacy-2024', 'openssl genpkey -algorithm ed25519 -out k.pem && kaiju-auth keys import k.pem'],
});

export const rekey = command({
  name: 'rekey',
  description:
    're-encrypt every private key from the current key secret to a new one, in one transaction ' +
    '(new secret: --new-secret-file or KAIJU_AUTH_NEW_SECRET; embedded database: a fresh one by default)',
  options: {
    newSecretFile: option('--new-secret-file <file>', 'file holding the new secret (at least 16 bytes); never on the command line', { env: 'KAIJU_AUTH_NEW_SECRET' }),
  },
  examples: [
    'kaiju-auth keys rekey --new-secret-file new.secret     # new.secret: e.g. openssl rand -base64 32 > new.secret',
    'KAIJU_AUTH_NEW_SECRET="$(cat /run/secrets/kaiju-new)" kaiju-auth keys rekey',
    'kaiju-auth keys rekey     # embedded database: a fresh <data-dir>/secret',
  ],
});

export const revoke = command({
  name: 'revoke',
  description:
    'revoke a key at once (leaked): it leaves the JWKS, its tokens stop verifying; revoking the signing key switches to the next (or a new) key (asks; -y)',
  args: [arg('<kid>', 'the key to revoke (see kaiju-auth keys list)')],
  options: { dryRun: option('--dry-run', 'show what would happen, change nothing') },
  examples: ['kaiju-auth keys revoke 0f3a9c...e1 -y && kaiju-auth keys jwks --out /srv/www/.well-known/jwks.json'],
});

export const prune = command({
  name: 'prune',
  description: 'drop keys that can no longer verify any token; --kid drops a retired key now (asks; -y)',
  options: {
    kid: option('--kid <kid...>', 'drop these keys now: tokens they signed stop verifying (never the signing key)'),
    dryRun: option('--dry-run', 'show what would be dropped, change nothing'),
  },
  examples: ['kaiju-auth keys prune -q     # crontab, after rotate', 'kaiju-auth keys prune --kid 0f3a9c...e1 -y   # a leaked key, after a rotation'],
});

const body: GroupBody = {
  examples: ['kaiju-auth keys list', '*/10 * * * *  kaiju-auth keys rotate -q && kaiju-auth keys prune -q   # crontab'],
  commands: runsFrom(() => import('./keys.js'), {
    keysRotate: rotate,
    keysList: list,
    keysJwks: jwks,
    keysImport: importKey,
    keysRekey: rekey,
    keysRevoke: revoke,
    keysPrune: prune,
  }),
};
export default body;
