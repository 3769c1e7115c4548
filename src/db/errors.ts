/**
 * What a driver error means (the same SQLSTATEs come from `pg` and PGlite). Two readers use it:
 * services, which turn constraint violations into coded errors (uniqueness and references are
 * enforced by the database's constraints), and every caller, for a server that cannot be reached or
 * logged in to, one that went away or ran out of resources mid-command, or one that refused us a
 * privilege. Such errors are the database's state, not a bug of ours: they become coded errors
 * (exit 7), worded with the server's own first line (it names objects, never values) or a few words
 * of our own.
 */
import { authError, type KaijuAuthError } from '../errors.js';

export const SQLSTATE = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  insufficientPrivilege: '42501',
} as const;

interface PgErrorLike {
  code?: string;
  constraint?: string;
  detail?: string;
}

export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as PgErrorLike).code : undefined;
}

/** The violated constraint's name (pg gives it; PGlite too), or undefined. */
export function violatedConstraint(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as PgErrorLike).constraint : undefined;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  return sqlState(err) === SQLSTATE.uniqueViolation && (constraint === undefined || violatedConstraint(err) === constraint);
}

export function isForeignKeyViolation(err: unknown, constraint?: string): boolean {
  return (
    sqlState(err) === SQLSTATE.foreignKeyViolation && (constraint === undefined || violatedConstraint(err) === constraint)
  );
}

/** Driver errors that mean "cannot reach or log in to the database", by code. */
const UNAVAILABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  '28P01': 'password authentication failed',
  '28000': 'not authorized',
  '3D000': 'database does not exist',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'too many connections',
};

/** Why a connection attempt failed, in a few words; never the driver's whole text (it may echo input). */
export function connectionFailureReason(err: unknown): string | null {
  const e = err as { code?: string; errors?: unknown[]; message?: string } | null;
  if (!e || typeof e !== 'object') return null;
  // The server refused the login: its own first line says why (`role "x" does not exist`, `no
  // pg_hba.conf entry for host ...`), as psql shows it. It names the role and host, never a password.
  if (e.code === '28000' && typeof e.message === 'string' && e.message !== '') {
    return `not authorized: ${serverWords(e.message)}`;
  }
  if (e.code && UNAVAILABLE_CODES[e.code]) return UNAVAILABLE_CODES[e.code] ?? null;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const reason = connectionFailureReason(inner);
      if (reason) return reason;
    }
  }
  const msg = e.message ?? '';
  if (/Knex: Timeout acquiring a connection/.test(msg)) return 'timed out connecting';
  if (/Connection terminated unexpectedly|Client has encountered a connection error/.test(msg)) return 'connection lost';
  // SQLSTATE 55000 is broad; this wording is the server refusing new sessions (ALLOW_CONNECTIONS false).
  if (/database ".*" is not currently accepting connections/.test(msg)) return 'the database is not accepting connections';
  if (/timeout expired|Connection terminated due to connection timeout/i.test(msg)) return 'connection timed out';
  if (/ssl|certificate/i.test(msg) && /connect|server/i.test(msg)) return 'TLS negotiation failed';
  if (/Invalid URL|getaddrinfo|connect ENOENT/.test(msg)) return 'cannot reach the server';
  return null;
}

/**
 * A coded error for a database that went away, ran out of resources or refused a privilege
 * (SQLSTATE classes 08, 53, 57 and 42501; socket errors), else null: the error is something else.
 */
export function databaseRefusal(err: unknown): KaijuAuthError | null {
  if (typeof err !== 'object' || err === null) return null;
  const state = String(sqlState(err) ?? '');
  const text = serverWords(err instanceof Error ? err.message : '');
  if (state === SQLSTATE.insufficientPrivilege) {
    return authError('db.permission_denied', `the database refused: ${text} (check the role's privileges)`, { sqlstate: state }, err);
  }
  if (/^(08|53|57)[0-9A-Z]{3}$/.test(state) && !UNAVAILABLE_CODES[state]) {
    return authError('db.unavailable', `database unavailable: ${text} (SQLSTATE ${state})`, { sqlstate: state }, err);
  }
  const reason = connectionFailureReason(err);
  return reason ? authError('db.unavailable', `database unavailable: ${reason}`, undefined, err) : null;
}

/** The server's own message: knex prefixes it with the statement (`SQL - message`); drop that. */
function serverWords(message: string): string {
  const at = message.lastIndexOf(' - ');
  const words = at === -1 ? message : message.slice(at + 3);
  return words.split('\n')[0] ?? '';
}
