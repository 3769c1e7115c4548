/**
 * Where the data lives. A target is resolved once (by the CLI from flags and environment, or by a
 * library caller directly) and then opened by `openDatabase`; services never see which it was.
 */

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
}

export interface EmbeddedTarget {
  kind: 'embedded';
  /** Data directory: holds `pgdata/` (PGlite), `lock` and, later, the key secret. `null`: in memory. */
  dataDir: string | null;
  /** How long to wait for another process that holds the data directory, in ms. */
  lockTimeoutMs?: number;
}

export type DatabaseTarget = PostgresTarget | EmbeddedTarget;

/** A URL with its password replaced by `***`, for messages. Never throws. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    const q = parsed.searchParams;
    for (const key of [...q.keys()]) {
      if (/pass|secret|key/i.test(key)) q.set(key, '***');
    }
    return parsed.toString();
  } catch {
    // Not a WHATWG URL (e.g. a libpq keyword string): hide anything after a password keyword.
    return url.replace(/(:\/\/[^:/@]*:)[^@]*@/, '$1***@').replace(/(password\s*=\s*)\S+/gi, '$1***');
  }
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
