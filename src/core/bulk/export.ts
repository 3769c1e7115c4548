/**
 * `user export`: every user with its groups, page by page in username order (keyset pagination:
 * each page is one statement that starts after the last username seen, so memory and per-page
 * cost stay constant however many users there are). Password hashes only when asked; the rows
 * are in the import's format, so an export with hashes imports back as it was.
 */
import type { Knex } from 'knex';
import { recordAudit } from '../audit.js';
import type { CoreContext } from '../context.js';
import type { ExportFormat } from './types.js';
import type { UserRow } from '../tables/users.js';

export interface ExportedUser {
  username: string;
  email: string;
  fullName: string | null;
  groups: string[];
  isActive: boolean;
  isBlocked: boolean;
  settings: Record<string, unknown>;
  /** Only with `withHashes`. */
  passwordHash?: string;
}

/** A user as the export file carries it: the import format's field names (bulk/types.ts). */
type ExportRecord = Record<string, unknown>;

export interface ExportOptions {
  withHashes?: boolean;
  /** Users per statement (default 1000). */
  pageSize?: number;
}

/** What `auth.bulk.export` records in the audit log before the first page. */
export interface AuditedExportOptions extends ExportOptions {
  /** Where the users go (`stdout`, a file name); default `caller`. */
  destination?: string;
  /** The format they are written in; default `jsonl`. */
  format?: string;
}

/**
 * Every user, in username order, one page at a time. Not audited: `auth.bulk.export` is the
 * audited way (the audit row is committed before the first page).
 */
export async function* exportUsers(db: Knex, options: ExportOptions = {}): AsyncGenerator<ExportedUser[]> {
  const pageSize = options.pageSize ?? 1000;
  let after: string | null = null;
  for (;;) {
    const q = db('users as u')
      .select(
        'u.username',
        'u.email',
        'u.full_name',
        'u.is_active',
        'u.is_blocked',
        'u.settings',
        db.raw(`coalesce((select json_agg(ug.group_id order by ug.group_id) from user_groups ug where ug.user_id = u.id), '[]'::json) as groups`),
      )
      .orderBy('u.username')
      .limit(pageSize);
    if (options.withHashes) q.select('u.password');
    if (after !== null) q.where('u.username', '>', after);
    // Rows as read: the users table's column names (its owner's UserRow), with the groups and the hash.
    const rows = (await q) as (Omit<UserRow, 'id' | 'created'> & { groups: string[] | string; password?: Buffer })[];
    if (rows.length === 0) return;
    yield rows.map((r) => ({
      username: r.username,
      email: r.email,
      fullName: r.full_name,
      groups: typeof r.groups === 'string' ? (JSON.parse(r.groups) as string[]) : r.groups,
      isActive: r.is_active,
      isBlocked: r.is_blocked,
      settings: r.settings,
      ...(r.password !== undefined ? { passwordHash: r.password.toString('latin1') } : {}),
    }));
    after = rows[rows.length - 1]?.username ?? null;
    if (rows.length < pageSize) return;
  }
}

/** Field order of exported rows; with hashes, `password_hash` is added after `email`. */
export function exportColumns(withHashes: boolean): string[] {
  return ['username', 'email', ...(withHashes ? ['password_hash'] : []), 'full_name', 'groups', 'is_active', 'is_blocked', 'settings'];
}

/** Text of a page in the chosen format (CSV: `;` between groups, settings as JSON text). */
export async function encodeExportPage(format: ExportFormat | 'json', users: ExportedUser[], withHashes: boolean, first: boolean): Promise<string> {
  if (format === 'jsonl') return users.map((u) => `${JSON.stringify(fileRecord(u, withHashes))}\n`).join('');
  if (format === 'json') return users.map((u, i) => `${first && i === 0 ? '' : ',\n'}${JSON.stringify(fileRecord(u, withHashes))}`).join('');
  const { stringify } = await import('csv-stringify/sync');
  const columns = exportColumns(withHashes);
  const records = users.map((u) => {
    const o = fileRecord(u, withHashes);
    return columns.map((c) => (c === 'groups' ? u.groups.join(';') : c === 'settings' ? JSON.stringify(u.settings) : (o[c] ?? '')) as string);
  });
  return stringify(first ? [columns, ...records] : records, { cast: { boolean: (b) => (b ? 'true' : 'false') } });
}

/** The one mapping from an exported user to the file's fields, in `exportColumns` order. */
function fileRecord(u: ExportedUser, withHashes: boolean): ExportRecord {
  const fields: ExportRecord = {
    username: u.username,
    email: u.email,
    password_hash: u.passwordHash,
    full_name: u.fullName,
    groups: u.groups,
    is_active: u.isActive,
    is_blocked: u.isBlocked,
    settings: u.settings,
  };
  return Object.fromEntries(exportColumns(withHashes).map((c) => [c, fields[c]]));
}

export async function countUsers(db: Knex): Promise<number> {
  const row = (await db('users').count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/**
 * The audit row of an export: who took the users out (`users`: how many there were when it
 * started), where to, and which fields (`password_hash` among them when the hashes went too: a
 * flag named after hashes or credentials would be redacted by the audit log's secret scrubber).
 */
export async function recordExport(ctx: CoreContext, e: { users: number; withHashes: boolean; format: string; destination: string }): Promise<void> {
  await recordAudit(ctx.db, ctx.settings.actor, {
    command: 'user.export',
    targetType: 'user',
    target: e.destination,
    summary: { users: e.users, fields: exportColumns(e.withHashes), format: e.format, destination: e.destination },
  });
}
