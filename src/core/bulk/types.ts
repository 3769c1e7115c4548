/**
 * Bulk user provisioning: the import file formats, the rows they hold once checked, and the
 * report an import returns.
 *
 * CSV header: username,email,password,password_hash,full_name,groups (groups separated by `;`),
 * optionally is_active,is_blocked,settings (settings as JSON text). JSON Lines and JSON arrays use
 * the same names as object keys (groups as an array). Each row has exactly one of password and
 * password_hash.
 */

export type ImportFormat = 'csv' | 'jsonl' | 'json';
export type ExportFormat = 'csv' | 'jsonl';
export type ConflictPolicy = 'fail' | 'skip' | 'update';

export const IMPORT_COLUMNS = [
  'username',
  'email',
  'password',
  'password_hash',
  'full_name',
  'groups',
  'is_active',
  'is_blocked',
  'settings',
] as const;

/** A row that passed every check of the validation pass. */
export interface ImportRow {
  row: number;
  line?: number;
  username: string;
  email: string;
  fullName: string | null;
  /** Validated (and stripped as kaiju does); hashed at import. */
  password?: string;
  /** A bcrypt string stored as it is. */
  passwordHash?: string;
  groups: string[];
  /** Only applied when the file gives them; new users default to active, not blocked, `{}`. */
  isActive?: boolean;
  isBlocked?: boolean;
  settings?: Record<string, unknown>;
}

/** One problem: which row (1-based; 0 for the file itself), which field, which error code. */
export interface ImportProblem {
  row: number;
  line?: number;
  column?: number;
  field?: string;
  code: string;
  message: string;
  /** The offending value where it is safe to show (never a password or a hash). */
  value?: string;
}

/**
 * The import's report. Counts per kind (users); `errors` lists invalid rows and conflicts;
 * `stopped` says where `--on-conflict fail` stopped (everything before it is imported).
 */
export interface ImportReport {
  created: { users: number };
  updated: { users: number };
  unchanged: { users: number };
  errors: ImportProblem[];
  /** Rows read from the file. */
  rows: number;
  /** Rows not imported because they were invalid (with skipInvalid) or conflicted. */
  skipped: number;
  stopped: ImportProblem | null;
}
