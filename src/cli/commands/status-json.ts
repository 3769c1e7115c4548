/**
 * The `--json` shapes of `status`, `status --check` and `init`: the core's camelCase types in the
 * CLI's snake_case keys, in the order the JSON Schemas (docs/json) and scripts have always seen.
 */
import type { KeyStatus } from '../../core/keys/key-queries.js';
import type { KeySecretState } from '../../core/keys/secret-verifier.js';
import type { CountStatus } from '../../core/status.js';
import type { HealthInfo } from '../../core/health.js';

export function countsJson(c: CountStatus | null) {
  return (
    c && {
      users: c.users,
      blocked_users: c.blockedUsers,
      inactive_users: c.inactiveUsers,
      groups: c.groups,
      permissions: c.permissions,
      live_sessions: c.liveSessions,
      expired_sessions: c.expiredSessions,
    }
  );
}

/** The signing key's status; `secret` only where the command checked it (status, not init). */
export function keyStatusJson(s: (KeyStatus & { secret?: KeySecretState }) | null) {
  if (!s) return null;
  const { active, next } = s;
  return {
    active: active && {
      kid: active.kid,
      alg: active.alg,
      created: active.created,
      age_seconds: active.ageSeconds,
      signs_until: active.signsUntil,
      rotation_due_at: active.rotationDueAt,
      rotation_due: active.rotationDue,
    },
    next: next && { kid: next.kid, alg: next.alg, created: next.created, switches_at: next.switchesAt },
    verifying: s.verifying,
    expired: s.expired,
    ...('secret' in s ? { secret: s.secret } : {}),
  };
}

export function healthInfoJson(i: HealthInfo) {
  return { users_with_cheap_hashes: i.usersWithCheapHashes, users_without_groups: i.usersWithoutGroups };
}
