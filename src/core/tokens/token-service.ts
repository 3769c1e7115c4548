/**
 * Tokens for users: issue a pair after authentication (or, audited, without a password), verify
 * against the keystore, and refresh. Refresh is not a copy of the old claims (kaiju 2.1.0's
 * mistake): it accepts only refresh tokens and re-reads the user, who must still exist, be active
 * and not blocked, and its current permissions.
 *
 * The users side is a small interface (`TokenUsers`) that the users service satisfies.
 */
import { recordAudit } from '../audit.js';
import type { CoreContext } from '../context.js';
import { authError, isKaijuAuthError } from '../../errors.js';
import type { KeyResolver } from '../keys/jwks.js';
import type { KeystoreService } from '../keys/keystore.js';
import type { TokenClaims, TokenType } from './claims.js';
import type { IssueOptions, IssuedTokens } from './issue.js';

// jose (through issue.js and verify.js) loads when a token is made or checked, not with the core:
// every other command (a seed, a user listing) starts without it.
const loadIssue = () => import('./issue.js');
const loadVerify = () => import('./verify.js');

/** The user fields tokens need. */
export interface TokenUser {
  id: string;
  username: string;
  isActive: boolean;
  isBlocked: boolean;
}

/** What the token service needs from the users service. */
export interface TokenUsers {
  /** A user by id or username; throws `auth.user.not_found`. */
  get(idOrUsername: string): Promise<TokenUser>;
  /** Check a password (with the failed-login delay); throws `auth.user.authentication_failed`. */
  authenticate(username: string, password: string): Promise<TokenUser & { permissions: string[] }>;
  /** Effective permissions (enabled only, sorted; the default group's when the user has none). */
  permissions(idOrUsername: string): Promise<string[]>;
}

export interface TokenVerifyOptions {
  /** Which type is acceptable; default `access`. */
  type?: TokenType | 'any';
}

function assertUsable(user: TokenUser): void {
  if (user.isBlocked || !user.isActive) {
    const reason = user.isBlocked ? 'blocked' : 'inactive';
    throw authError('auth.user.authentication_failed', `user ${user.username} is ${reason}`, { reason });
  }
}

export class TokenService {
  private readonly ctx: CoreContext;
  private readonly keys: KeystoreService;
  private readonly users: TokenUsers;
  private keyResolver: Promise<KeyResolver> | null = null;

  constructor(ctx: CoreContext, keys: KeystoreService, users: TokenUsers) {
    this.ctx = ctx;
    this.keys = keys;
    this.users = users;
  }

  private async pairFor(user: TokenUser, permissions: readonly string[], options: IssueOptions): Promise<IssuedTokens> {
    const key = await this.keys.signingKey();
    const { signTokenPair } = await loadIssue();
    return signTokenPair(key, { id: user.id, permissions }, this.ctx.settings.tokens, this.ctx.settings.now(), options);
  }

  /** Authenticate `username` with `password` and issue a pair. */
  async issue(username: string, password: string, options: IssueOptions = {}): Promise<IssuedTokens> {
    // The key first: a missing or wrong secret is reported before any password is checked.
    await this.keys.signingKey();
    const user = await this.users.authenticate(username, password);
    assertUsable(user);
    return this.pairFor(user, user.permissions, options);
  }

  /**
   * Issue a pair without a password (a service account, an operator's act): recorded in the audit
   * log with the token ids, never the tokens.
   */
  async issueWithoutPassword(username: string, options: IssueOptions = {}): Promise<IssuedTokens> {
    await this.keys.signingKey();
    const user = await this.users.get(username);
    assertUsable(user);
    const permissions = await this.users.permissions(user.id);
    const issued = await this.pairFor(user, permissions, options);
    await recordAudit(this.ctx.db, this.ctx.settings.actor, {
      command: 'token.issue',
      targetType: 'user',
      target: user.username,
      // "authenticated: false", not "without_password": the audit scrubber redacts password-ish keys.
      summary: {
        authenticated: false,
        user_id: user.id,
        access_jti: issued.claims.access.jti,
        refresh_jti: issued.claims.refresh.jti,
        access_exp: issued.claims.access.exp,
        refresh_exp: issued.claims.refresh.exp,
      },
    });
    return issued;
  }

  /** The keystore's public keys as a resolver, read once per service. */
  private resolver(): Promise<KeyResolver> {
    this.keyResolver ??= this.keys.resolver();
    return this.keyResolver;
  }

  /** Verify against the keystore: claims, or an `auth` error saying why not. */
  async verify(token: string, options: TokenVerifyOptions = {}): Promise<TokenClaims> {
    const s = this.ctx.settings.tokens;
    const { verifyToken } = await loadVerify();
    return verifyToken(token, await this.resolver(), {
      type: options.type ?? 'access',
      clockSkew: s.clockSkew,
      issuer: s.issuer,
      audience: s.audience,
      now: this.ctx.settings.now(),
    });
  }

  /** A new pair for the user of a refresh token, with the user's current state and permissions. */
  async refresh(refreshToken: string, options: IssueOptions = {}): Promise<IssuedTokens> {
    // The secret first: a wrong one is reported as such, whatever the token.
    await this.keys.proveSecret();
    const claims = await this.verify(refreshToken, { type: 'refresh' });
    let user: TokenUser;
    try {
      user = await this.users.get(claims.sub);
    } catch (err) {
      if (isKaijuAuthError(err) && err.code === 'auth.user.not_found') {
        throw authError('auth.user.authentication_failed', 'the user of this token no longer exists', { reason: 'deleted' }, err);
      }
      throw err;
    }
    assertUsable(user);
    const permissions = await this.users.permissions(user.id);
    return this.pairFor(user, permissions, options);
  }
}
