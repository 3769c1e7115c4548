/**
 * Where the data lives. A target is resolved once (by the CLI from flags and environment, or by a
 * library caller directly) and then opened by `openDatabase`; services never see which it was.
 */
import type { DatabaseTimeouts } from './timeouts.js';

export interface PostgresTarget {
  kind: 'postgres';
  /** A libpq-style URL; parts it leaves out may come from `connection` below. */
  url: string;
  /** Explicit connection fields that complete the URL (as libpq's PG* variables would). */
  connection?: {
    host?: string;
    port?: number;
    user?: string;
    password?: string;
    database?: string;
  };
  /** Pool size; small by default: an admin tool needs few connections. */
  poolMax?: number;
  /** How long to wait for the server, a statement, a lock; unset ones keep DEFAULT_TIMEOUTS. */
  timeouts?: Partial<DatabaseTimeouts>;
}

export interface EmbeddedTarget {
  kind: 'embedded';
  /** Data directory: holds `pgdata/` (PGlite), `lock` and, later, the key secret. `null`: in memory. */
  dataDir: string | null;
  /** How long to wait for another process that holds the data directory, in ms. */
  lockTimeoutMs?: number;
}

export type DatabaseTarget = PostgresTarget | EmbeddedTarget;

/**
 * The userinfo of `url` (between `://` and the last `@`) with everything after the user name
 * replaced by `***`, on the raw text: a URL that a parser splits elsewhere than libpq would (a `#`
 * or `/` in an unencoded password makes WHATWG read a fragment or a path) must not carry the
 * password into a message. Over-redacts an `@` in the path or query rather than risk it.
 */
function redactUserinfo(url: string): string {
  const start = url.indexOf('://');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return url;
  const userinfo = url.slice(start + 3, at);
  const colon = userinfo.indexOf(':');
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  const plainUser = /^[A-Za-z0-9._~%-]*$/.test(user);
  if (colon < 0 && plainUser) return url;
  return `${url.slice(0, start + 3)}${plainUser ? user : '***'}:***@${url.slice(at + 1)}`;
}

/** A URL with its password replaced by `***`, for messages. Never throws. */
export function redactUrl(url: string): string {
  // Password-ish keywords anywhere (a query, a fragment, a keyword string), then the userinfo.
  const text = redactUserinfo(url).replace(/((?:pass|secret|key)[^=&#\s]*\s*=\s*)[^&#\s]*/gi, '$1***');
  try {
    const parsed = new URL(text);
    if (parsed.password) parsed.password = '***';
    const q = parsed.searchParams;
    for (const key of [...q.keys()]) {
      if (/pass|secret|key/i.test(key)) q.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return text; // not a WHATWG URL (e.g. a libpq keyword string): redacted above
  }
}

/**
 * The directory the database keeps its files in (an embedded one on disk), where files that belong
 * with the data go (the key secret); null when there is none (PostgreSQL, in memory).
 */
export function homeOf(target: DatabaseTarget): string | null {
  return target.kind === 'embedded' ? target.dataDir : null;
}

/** One line naming the target for notices and errors; the password is never in it. */
export function describeTarget(target: DatabaseTarget): string {
  if (target.kind === 'embedded') {
    return target.dataDir === null ? 'embedded database (in memory)' : `embedded database at ${target.dataDir}`;
  }
  const c = target.connection ?? {};
  let shown = redactUrl(target.url);
  try {
    const parsed = new URL(target.url);
    // Show what libpq-style defaults filled in, so the message names the real target.
    if (!parsed.hostname && c.host) parsed.hostname = c.host;
    if (!parsed.port && c.port) parsed.port = String(c.port);
    if (!parsed.username && c.user) parsed.username = c.user;
    if ((parsed.pathname === '' || parsed.pathname === '/') && c.database) parsed.pathname = `/${c.database}`;
    shown = redactUrl(parsed.toString());
  } catch {
    /* keep the redacted original */
  }
  return `PostgreSQL ${shown}`;
}
