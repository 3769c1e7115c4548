/**
 * Value conventions shared by both drivers, so rows look the same whichever database answered:
 * BYTEA as `Buffer`, BIGINT as `number`, kaiju's `TIMESTAMP WITHOUT TIME ZONE` columns (which hold
 * UTC, as Python's `datetime.utcnow()` wrote them) as UTC `Date`s; `text[]` as an array (both
 * drivers' own parsers do that; test/integration/db-seam.test.ts holds them to it). Each backend
 * installs these parsers its own way; nothing above src/db normalises a value.
 */

export const OID = { bytea: 17, int8: 20, timestamp: 1114 } as const;

/** `2026-12-01 04:28:54.123` (no zone, UTC by kaiju's convention) -> Date. */
export function parseUtcTimestamp(text: string): Date | string {
  if (text === 'infinity' || text === '-infinity') return text;
  return new Date(`${text.replace(' ', 'T')}Z`);
}

export function parseInt8(text: string): number {
  return Number(text);
}

/**
 * The type parsers both backends install (each its own way), so rows look the same whichever
 * database answered. BYTEA is each backend's own affair (pg gives Buffers already).
 */
export const TYPE_PARSERS: Readonly<Record<number, (text: string) => unknown>> = {
  [OID.int8]: parseInt8,
  [OID.timestamp]: parseUtcTimestamp,
};

/** Text-format BYTEA (`\x0102...`) -> Buffer. */
export function parseBytea(text: string): Buffer {
  return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : Buffer.from(text, 'latin1');
}

/** Any BYTEA value a driver hands back (Buffer from pg, Uint8Array from PGlite) as a Buffer. */
export function toBuffer(value: Uint8Array | Buffer | string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return parseBytea(value);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * A Date as the literal for a `TIMESTAMP WITHOUT TIME ZONE` column holding UTC. Passing a Date
 * instead would let the driver convert it to the machine's local time first.
 */
export function utcTimestampLiteral(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** JSONB parameters always go in as JSON text: `pg` would send a JS array as a PostgreSQL array. */
export function jsonb(value: unknown): string {
  return JSON.stringify(value);
}
