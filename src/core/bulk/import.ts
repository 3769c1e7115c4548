/**
 * `user import`: two streaming passes over the file. The first lists every problem (nothing is
 * written unless the file is clean, or `skipInvalid` says to import the valid rows). The second
 * imports in batches, each one transaction, and the next batches are read and hashed while the
 * current one is written.
 *
 * A batch of new users goes in by COPY (copy-batch.ts). Which users are new: for plain passwords,
 * one read per batch finds the users that already exist (so `skip` never hashes their passwords,
 * and a rerun after a crash only hashes what is missing); pre-hashed rows need no hashing, so
 * their batch is first tried as all new, and the unique constraints say if it was not. A batch
 * with existing users goes through writeBatch (multi-row statements), by the conflict policy.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { CoreContext } from '../context.js';
import { isForeignKeyViolation } from '../../db/errors.js';
import { takenEmail } from '../tables/users.js';
import { checkOption, DEFAULT_BATCH_SIZE, SETTING_RANGES } from '../settings.js';
import { authError } from '../../errors.js';
import { HashQueue } from '../hash-queue.js';
import { bcryptCost, type PasswordHasher } from '../passwords.js';
import { inJsonList } from '../set-sql.js';
import { readRecords } from './records.js';
import { checkRecord } from './row-rules.js';
import type { ConflictPolicy, ImportFormat, ImportProblem, ImportReport, ImportRow } from './types.js';
import { sourceName, statSource, type ImportSource } from './source.js';
import { validateImportFile } from './validate-file.js';
import { copyNewUsers, isExistingUserViolation, newUsersCopy, type NewUsersCopy } from './copy-batch.js';
import { writeBatch, type PreparedRow } from './write-batch.js';
import type { FileIdentities } from './validate-file.js';
import { findKeyHolders, identityKeys, KeyIndex, lockUserKeys, noUserKeys, type KeyClash } from '../user-keys.js';
import type { Knex } from 'knex';

export interface ImportProgress {
  phase: 'validate' | 'import';
  done: number;
  total: number;
}

export interface UserImportOptions {
  format: ImportFormat;
  onConflict?: ConflictPolicy;
  /** Rows per transaction (default DEFAULT_BATCH_SIZE, 1000; SETTING_RANGES.batchSize). */
  batchSize?: number;
  /** Import the valid rows of a file that has invalid ones (they are still reported). */
  skipInvalid?: boolean;
  /** bcrypt cost for plain passwords (default: the context's; SETTING_RANGES.bcryptRounds, 4..31). */
  rounds?: number;
  hasher?: PasswordHasher;
  /** Hashes at once (default: the number of CPUs). */
  concurrency?: number;
  onProgress?: (p: ImportProgress) => void;
}

interface PreparedBatch {
  /** The batch as read, to prepare again when it turns out not to be all new. */
  source: ImportRow[];
  /** What writeBatch does with each row (empty when the batch was not looked up: `copy` only). */
  rows: PreparedRow[];
  conflicts: ImportProblem[];
  /** Every row creates a user, as far as is known: the batch as COPY text, to try first. */
  copy: NewUsersCopy | null;
}

/**
 * Batches prepared ahead of the one being written, so that reading and hashing overlap the writes.
 * Two keep every core hashing across a batch boundary; without passwords to hash, one is enough
 * (reading a batch is quicker than writing it), and fewer rows wait in memory.
 */
const LOOKAHEAD = { hashing: 2, reading: 1 };

function conflict(r: { row: number; line?: number; username: string; email: string }, field: 'username' | 'email', message: string): ImportProblem {
  return { row: r.row, ...(r.line !== undefined ? { line: r.line } : {}), field, code: 'auth.user.exists', message, value: field === 'email' ? r.email : r.username };
}

/** A row with what its batch does with it (a literal of one shape: spreading 100k rows costs). */
function preparedRow(r: ImportRow, action: PreparedRow['action'], id: string, hash: string | undefined): PreparedRow {
  return {
    row: r.row,
    line: r.line,
    username: r.username,
    email: r.email,
    fullName: r.fullName,
    password: r.password,
    passwordHash: r.passwordHash,
    groups: r.groups,
    isActive: r.isActive,
    isBlocked: r.isBlocked,
    settings: r.settings,
    action,
    id,
    hash,
  };
}

/** A row that looks like an existing user (another one: the same username is the policy's business). */
function clashProblem(r: { row: number; line?: number; username: string; email: string }, c: KeyClash): ImportProblem {
  const h = c.holder;
  if (c.field === 'username') return conflict(r, 'username', `username ${r.username} looks like the existing user ${h.username}`);
  return conflict(r, 'email', c.exact ? `email ${r.email} already belongs to user ${h.username}` : `email ${r.email} looks like ${h.email} of user ${h.username}`);
}

/** Rows of a batch found, in its transaction, to look like users written meanwhile by someone else. */
class LateClashes extends Error {
  constructor(readonly problems: ImportProblem[]) {
    super('rows look like users written during the import');
  }
}

/**
 * The file's rows that look like existing users, from the keys kept by the validation pass, in one
 * statement; and the keys' generation then, to tell later whether anyone else wrote users.
 */
async function existingClashes(ctx: CoreContext, file: { names: FileIdentities; emails: FileIdentities }, clashes: Map<number, ImportProblem>): Promise<number> {
  return ctx.db.transaction(async (trx) => {
    const { seen, refreshed } = await lockUserKeys(trx, { writing: false });
    const generation = refreshed ? seen + 1 : seen;
    if (await noUserKeys(trx)) return generation;
    const ids = { names: file.names.byKeyText(), emails: file.emails.byKeyText() };
    const holders = await findKeyHolders(trx, { names: ids.names.keys(), emails: ids.emails.keys() });
    for (const h of holders) {
      for (const [field, map, keys] of [
        ['username', ids.names, [h.name_key, h.name_alt]],
        ['email', ids.emails, [h.email_key, h.email_alt]],
      ] as const) {
        for (const key of keys) {
          const who = key === null ? undefined : map.get(key);
          if (!who || who.username === h.username || clashes.has(who.row)) continue;
          clashes.set(who.row, clashProblem(who, { field, holder: h, exact: field === 'username' ? false : who.email === h.email }));
        }
      }
    }
    return generation;
  });
}

function groupDeleted(err: unknown) {
  return authError('auth.group.not_found', 'a group named in the file was deleted during the import', {}, err);
}

/** Import users from `file`: a path, or an `ImportInput` (what the CLI makes of stdin). */
export async function importUsers(ctx: CoreContext, file: ImportSource, options: UserImportOptions): Promise<ImportReport> {
  const policy = options.onConflict ?? 'fail';
  // Checked before anything is read: a cost of 99 would fail every hash, a batch of 0 loop.
  const batchSize = checkOption('batchSize', options.batchSize ?? DEFAULT_BATCH_SIZE, SETTING_RANGES.batchSize);
  const rounds = checkOption('rounds', options.rounds ?? ctx.settings.bcryptRounds, SETTING_RANGES.bcryptRounds);
  const queue = new HashQueue({ rounds, ...(options.hasher ? { hasher: options.hasher } : {}), ...(options.concurrency ? { concurrency: options.concurrency } : {}) });
  const db = ctx.db;
  const report: ImportReport = { created: { users: 0 }, updated: { users: 0 }, unchanged: { users: 0 }, errors: [], rows: 0, skipped: 0, stopped: null };

  const { size, stamp } = await statSource(file);
  let bytes = 0;
  const validation = await validateImportFile(db, file, options.format, (n) => {
    bytes += n;
    options.onProgress?.({ phase: 'validate', done: Math.min(bytes, size), total: size });
  });
  report.rows = validation.rows;
  report.errors = validation.problems;
  report.skipped = validation.invalidRows.size;
  if (validation.problems.length > 0 && !options.skipInvalid) {
    report.skipped = validation.rows;
    return report;
  }
  if ((await statSource(file)).stamp !== stamp) {
    const name = sourceName(file);
    throw authError('data.file_invalid', `${name} changed while it was being imported; run the import again`, { file: name });
  }
  /** Rows that look like other users (found now, or by a batch's own check): conflicts, never written. */
  const clashes = new Map<number, ImportProblem>();
  let generation = await existingClashes(ctx, validation.identities, clashes);
  validation.identities.names.clear();
  validation.identities.emails.clear();
  /** The generation a batch's transaction leaves: ours when it commits. */
  let taken = generation;

  /**
   * First in each batch's transaction: take the keys' lock. If anyone else wrote users since our
   * last batch (the generation is not the one we left, or the kaiju app's rows were just keyed),
   * check this batch's rows against everyone again.
   */
  async function guard(trx: Knex, rows: readonly { row: number; line?: number; username: string; email: string }[]): Promise<void> {
    const { seen, refreshed } = await lockUserKeys(trx);
    taken = seen + 1;
    if (!refreshed && seen === generation) return;
    const keyed = rows.map((r) => ({ r, keys: identityKeys(r.username, r.email) }));
    const index = new KeyIndex(await findKeyHolders(trx, keyed.map((k) => k.keys)));
    const late = keyed.flatMap(({ r, keys }) => {
      const c = index.clash({ username: r.username, email: r.email, keys }, (h) => h.username === r.username);
      return c ? [clashProblem(r, c)] : [];
    });
    if (late.length > 0) throw new LateClashes(late);
  }

  async function* batches(): AsyncGenerator<ImportRow[]> {
    let batch: ImportRow[] = [];
    for await (const chunk of readRecords(file, options.format)) {
      for (const rec of chunk) {
        if (rec.fatal) break;
        if (validation.invalidRows.has(rec.row)) continue;
        const checked = checkRecord(rec, options.format === 'csv', true);
        if (!checked.row) continue;
        batch.push(checked.row);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  /**
   * Decide create/update/skip, and hash what must be. `lookup: false` (pre-hashed rows only, no
   * hashing to spare): assume every row is new, without a read.
   */
  async function prepare(rows: ImportRow[], lookup: boolean): Promise<PreparedBatch> {
    if (!lookup && rows.every((r) => r.passwordHash !== undefined && !clashes.has(r.row))) {
      const copy = await newUsersCopy(rows, rows.map((r) => r.passwordHash), ctx.settings.now());
      return { source: rows, rows: [], conflicts: [], copy };
    }
    const existing = (await db('users')
      .select('id', 'username', 'email', 'password')
      .where((w) => w.whereRaw(...inJsonList('username', rows.map((r) => r.username))).orWhereRaw(...inJsonList('email', rows.map((r) => r.email))))) as {
      id: string;
      username: string;
      email: string;
      password: Buffer;
    }[];
    const byName = new Map(existing.map((u) => [u.username, u]));
    const byEmail = new Map(existing.map((u) => [u.email, u]));
    const conflicts: ImportProblem[] = [];
    const prepared = await Promise.all(
      rows.map(async (r): Promise<PreparedRow | null> => {
        const clash = clashes.get(r.row);
        if (clash) {
          conflicts.push(clash);
          return null;
        }
        const current = byName.get(r.username);
        const owner = byEmail.get(r.email);
        if (owner && owner.username !== r.username) {
          conflicts.push(conflict(r, 'email', `email ${r.email} already belongs to user ${owner.username}`));
          return null;
        }
        if (current && policy === 'fail') {
          conflicts.push(conflict(r, 'username', `user ${r.username} already exists`));
          return null;
        }
        if (current && policy === 'skip') return preparedRow(r, 'skip', current.id, undefined);
        let hash = r.passwordHash;
        if (hash === undefined && r.password !== undefined) {
          // Keep a stored hash that already matches at the wanted cost: a rerun changes nothing.
          const stored = current?.password.toString('latin1');
          const keep = stored !== undefined && bcryptCost(stored) === rounds && (await queue.verify(r.password, stored));
          hash = keep ? stored : (await queue.hash(r.password)).hash.toString('latin1');
        }
        return preparedRow(r, current ? 'update' : 'create', current?.id ?? randomUUID(), hash);
      }),
    );
    conflicts.sort((a, b) => a.row - b.row);
    const kept = prepared.filter((r): r is PreparedRow => r !== null);
    // COPY only for a batch of new users with nothing to report (conflicts go through writeBatch).
    const copy = existing.length === 0 && conflicts.length === 0 ? await newUsersCopy(kept, kept.map((r) => r.hash), ctx.settings.now()) : null;
    return { source: rows, rows: kept, conflicts, copy };
  }

  const total = validation.valid;
  let done = 0;
  options.onProgress?.({ phase: 'import', done, total });
  const source = path.basename(sourceName(file));

  /** Write one batch: COPY when all new, else writeBatch by the conflict policy. False: stop here. */
  async function write(batch: PreparedBatch): Promise<boolean> {
    if (batch.copy) {
      const copy = batch.copy;
      const copied = await copyNewUsers(db, copy, { actor: ctx.settings.actor, source }, (trx) => guard(trx, batch.source)).catch((err: unknown) => {
        if (isForeignKeyViolation(err)) throw groupDeleted(err);
        if (err instanceof LateClashes) {
          for (const p of err.problems) clashes.set(p.row, p);
          return null;
        }
        if (!isExistingUserViolation(err)) throw err;
        return null;
      });
      if (copied) {
        generation = taken;
        report.created.users += copied.created;
        return true;
      }
      // Not all new after all: look at what exists and follow the conflict policy, row by row
      // (even if what was in the way has gone again meanwhile).
      batch = await prepare(batch.source, true);
    }
    report.errors.push(...batch.conflicts);
    if (batch.conflicts.length > 0 && policy === 'fail') {
      report.stopped = batch.conflicts[0] ?? null;
      return false;
    }
    let rows = batch.rows;
    for (;;) {
      try {
        const writing = rows;
        const r = await writeBatch(db, rows, { actor: ctx.settings.actor, source, now: ctx.settings.now() }, (trx) =>
          guard(trx, writing.filter((w) => w.action !== 'skip')),
        );
        generation = taken;
        report.created.users += r.created;
        report.updated.users += r.updated;
        report.unchanged.users += r.unchanged;
        return true;
      } catch (err) {
        // Someone else wrote a clashing or look-alike user, or removed a group, since this batch was read.
        if (isForeignKeyViolation(err)) throw groupDeleted(err);
        if (err instanceof LateClashes) {
          report.errors.push(...err.problems);
          if (policy === 'fail') {
            report.stopped = err.problems[0] ?? null;
            return false;
          }
          const late = new Set(err.problems.map((p) => p.row));
          rows = rows.filter((r) => !late.has(r.row));
          continue;
        }
        const email = takenEmail(err);
        const culprit = email === undefined ? undefined : rows.find((r) => r.email === email);
        if (!culprit) throw err;
        const problem = conflict(culprit, 'email', `email ${culprit.email} already belongs to another user`);
        report.errors.push(problem);
        if (policy === 'fail') {
          report.stopped = problem;
          return false;
        }
        rows = rows.filter((r) => r !== culprit);
      }
    }
  }

  // The reads queue on the generator, so batches stay in file order.
  const it = batches();
  const readNext = (): Promise<PreparedBatch | null> => {
    const p = it.next().then((next) => (next.done ? null : prepare(next.value, false)));
    p.catch(() => undefined); // observed when its turn comes
    return p;
  };
  const ahead = Array.from({ length: validation.plainPasswords > 0 ? LOOKAHEAD.hashing : LOOKAHEAD.reading }, readNext);
  try {
    for (;;) {
      const batch = await (ahead.shift() as Promise<PreparedBatch | null>);
      if (!batch) break;
      ahead.push(readNext());
      if (!(await write(batch))) break;
      done += batch.source.length;
      options.onProgress?.({ phase: 'import', done, total });
    }
  } finally {
    await Promise.allSettled(ahead);
    await it.return(undefined);
  }
  report.errors.sort((a, b) => a.row - b.row);
  report.skipped = report.rows - report.created.users - report.updated.users - report.unchanged.users;
  return report;
}
