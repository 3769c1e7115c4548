/**
 * Password hashing as kaiju_auth does it, so Python `bcrypt.checkpw` accepts our hashes and we
 * accept theirs: the bcrypt string (`$2b$13$...`) stored as BYTEA in `users.password`, its salt
 * prefix (first 29 characters) in `users.salt`. The async API runs on libuv's thread pool, so
 * many hashes use all cores.
 */
import { authError } from '../errors.js';

export interface PasswordHash {
  /** The full bcrypt string as bytes (the `password` column). */
  hash: Buffer;
  /** The `$2b$NN$` + 22-character salt prefix as bytes (the `salt` column). */
  salt: Buffer;
}

/** What the users service needs of a hasher; injectable so tests can observe it. */
export interface PasswordHasher {
  hash(password: string, rounds: number): Promise<PasswordHash>;
  /** False for a mismatch or an unusable stored hash; never throws for bad input. */
  verify(password: string, stored: Buffer | string): Promise<boolean>;
}

/** The bcrypt costs we hash at (the `bcrypt` package's own limits); kaiju's default is 13. */
export const BCRYPT_COST_RANGE = { min: 4, max: 31 } as const;
export const DEFAULT_BCRYPT_COST = 13;

const BCRYPT_RE = /^\$2[abxy]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/** The part of the `bcrypt` package we use (its async API runs on libuv's pool). */
interface BcryptModule {
  genSaltSync(rounds: number, minor: 'a' | 'b'): string;
  hash(data: string, salt: string): Promise<string>;
  compare(data: string, encrypted: string): Promise<boolean>;
}
let bcryptModule: Promise<BcryptModule> | null = null;
function bcrypt(): Promise<BcryptModule> {
  bcryptModule ??= import('bcrypt').then((m) => (m.default ?? m) as unknown as BcryptModule);
  return bcryptModule;
}

/** The cost of a bcrypt string, or null when it is not one. */
export function bcryptCost(hash: Buffer | string): number | null {
  const text = typeof hash === 'string' ? hash : hash.toString('latin1');
  const m = BCRYPT_RE.exec(text);
  return m ? Number(m[1]) : null;
}

export function isBcryptHash(hash: string): boolean {
  return BCRYPT_RE.test(hash);
}

/** A pre-made hash (import) in the stored form; the format is checked. */
export function storedFormOf(bcryptString: string): PasswordHash {
  if (!isBcryptHash(bcryptString)) {
    throw authError('auth.user.invalid_password', 'password_hash is not a bcrypt hash ($2a$/$2b$/$2y$, cost, 53 characters)', {
      field: 'password_hash',
    });
  }
  return { hash: Buffer.from(bcryptString, 'latin1'), salt: Buffer.from(bcryptString.slice(0, 29), 'latin1') };
}

export const bcryptHasher: PasswordHasher = {
  async hash(password, rounds) {
    const b = await bcrypt();
    // 16 random bytes, made here: a thread-pool round trip of its own per hash cost more than them.
    const salt = b.genSaltSync(rounds, 'b');
    const hash = await b.hash(password, salt);
    return { hash: Buffer.from(hash, 'latin1'), salt: Buffer.from(salt, 'latin1') };
  },
  async verify(password, stored) {
    const text = typeof stored === 'string' ? stored : stored.toString('latin1');
    if (!isBcryptHash(text)) return false;
    const b = await bcrypt();
    // $2y$ (PHP) is the same algorithm as $2b$; the bcrypt package only knows the latter.
    return b.compare(password, text.startsWith('$2y$') ? `$2b$${text.slice(4)}` : text);
  },
};

/**
 * Burn the same bcrypt work as verifying against a stored hash of cost `rounds`, for a user that
 * does not exist, so an unknown username takes as long as a wrong password. The first time, making
 * the dummy hash is that work; afterwards it is a comparison against it. Always false.
 */
const dummyHashes = new WeakMap<PasswordHasher, Map<number, Buffer>>();
export async function verifyAgainstDummy(hasher: PasswordHasher, password: string, rounds: number): Promise<false> {
  let byCost = dummyHashes.get(hasher);
  if (!byCost) dummyHashes.set(hasher, (byCost = new Map()));
  const dummy = byCost.get(rounds);
  if (dummy) {
    await hasher.verify(password, dummy);
  } else {
    byCost.set(rounds, (await hasher.hash(`dummy-${Math.random()}-password-1`, rounds)).hash);
  }
  return false;
}
