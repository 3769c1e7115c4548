/**
 * Reading PostgreSQL errors (same SQLSTATEs from `pg` and PGlite): uniqueness and references are
 * enforced by the database's constraints, and services turn the violations into coded errors.
 */

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
